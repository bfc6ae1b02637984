"""Guided upgrades: the path one minor at a time (`path`), the removed-API table (`removals`), read-only
access to the live cluster (`live`, `helm`), the preflight checks (`preflight`, `room`) and the one-line
stack file edit of `--write` (`write`).

May import: kapsule.exits, kapsule.names, kapsule.files, kapsule.stackfile, components.
"""
