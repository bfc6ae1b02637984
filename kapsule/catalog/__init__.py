"""What Scaleway offers, in one place: `python -m kapsule catalog` shows every entry with what it rests on, and
`python -m kapsule catalog refresh` rereads what Scaleway's APIs serve (versions, node types per zone, prices).

The data files and their pure readers stay in `components/` (`kubernetes_versions.json` and `catalog.py`,
`node_types.json` and `node_types.py`, `prices.json` and `offers.py`, `kubernetes_api_removals.json`): other
stacks install `components` alone (pyproject's package-data), and its spec validators refuse a version, a node
type or a zone with these files, so they must ship inside it and keep their import paths. This room holds what
only this project runs: listing the catalog and refreshing it through the Scaleway SDK.

May import: kapsule.exits, kapsule.scaleway, kapsule.names, kapsule.files, kapsule.cost, kapsule.upgrade, components.
"""
