"""`python -m kapsule versions [show|refresh|refresh-apis]`: the Kubernetes version catalog and the table of
the APIs each minor removes."""

from __future__ import annotations

import sys
from datetime import date

from components.catalog import load_catalog

from ..exits import EXIT_INVALID
from ..names import ROOT


def show_versions(day: date) -> int:
    """Print the catalog with each minor's status on `day`."""
    catalog = load_catalog()
    print(f"Kubernetes versions on Kapsule, catalog as of {catalog.as_of} ({catalog.source})")
    print(f"{'minor':<8}{'released':<12}{'deprecated':<12}{'end of support':<16}status on {day}")
    supported = catalog.supported(day)
    for entry in catalog.versions:
        error, warning = catalog.check(entry.minor, day)
        status = "unsupported" if error else ("ends soon" if warning and entry.minor in supported else "supported")
        print(
            f"{entry.minor:<8}{entry.released!s:<12}{entry.deprecated or '-'!s:<12}{entry.end_of_support or '-'!s:<16}{status}"
        )
    stale = catalog.check(supported[-1], day)[1] if supported else None
    if stale and "catalog" in stale:
        print(f"warning: {stale}", file=sys.stderr)
    return 0


def refresh_removals() -> int:
    """Rewrite the removed-API table from the `k8s.io/api` module, through the Go module proxy."""
    from ..upgrade.removals import (
        API_MODULE_VERSION,
        REMOVALS_FILE,
        RemovalsError,
        download_module,
        removals_document,
        write_removals,
    )

    try:
        document = removals_document(download_module(), API_MODULE_VERSION)
    except RemovalsError as error:
        print(f"versions refresh-apis: {error}", file=sys.stderr)
        return EXIT_INVALID
    write_removals(document)
    print(
        f"{REMOVALS_FILE.relative_to(ROOT)}: {len(document['removals'])} removed kinds from k8s.io/api {API_MODULE_VERSION}"
    )
    return 0
