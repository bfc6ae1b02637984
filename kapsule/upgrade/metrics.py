"""The API server's own record of deprecated APIs that clients still call (`apiserver_requested_deprecated_apis`
on `/metrics`), read with the Prometheus text parser. Pure logic over the page's text.

Who controls it: the API server (and whatever sits in front of it); label values reach reports only through the
reports' own escaping.
"""

from __future__ import annotations

from .live import LiveError

#: The API server's record of the deprecated APIs clients called (a gauge of 1 per group/version/resource).
DEPRECATED_METRIC = "apiserver_requested_deprecated_apis"


def requested_deprecated(text: str, minors: list[str]) -> list[tuple[str, str | None, bool]]:
    """Each deprecated API a client still calls: its sentence, the minor that removes it when that minor is on
    the path (None otherwise), and whether it blocks."""
    from prometheus_client.parser import text_string_to_metric_families

    findings: list[tuple[str, str | None, bool]] = []
    # The text format is one sample or comment a line: only this metric's lines are parsed (the server's whole
    # /metrics is megabytes of other families, and parsing it was most of this check's time).
    ours = (DEPRECATED_METRIC, f"# HELP {DEPRECATED_METRIC} ", f"# TYPE {DEPRECATED_METRIC} ")
    text = "".join(f"{line}\n" for line in text.split("\n") if line.startswith(ours))
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError as error:
        raise LiveError(f"GET /metrics: not the Prometheus text format ({error})") from None
    for family in families:
        if family.name != DEPRECATED_METRIC:
            continue
        for sample in family.samples:
            labels = sample.labels
            if not sample.value:
                continue
            group, version = labels.get("group", ""), labels.get("version", "")
            api = f"{group}/{version}" if group else version
            resource = labels.get("resource", "") + (f"/{labels['subresource']}" if labels.get("subresource") else "")
            removed = labels.get("removed_release", "")
            what = f"a client still calls {api} {resource}"
            if removed in minors:
                findings.append(
                    (
                        f"{what}, removed in {removed}: find the client in the API server's audit log or in `kubectl get --raw /metrics`",
                        removed,
                        True,
                    )
                )
            else:
                findings.append((f"{what}, deprecated{f', removed in {removed}' if removed else ''}", None, False))
    return findings
