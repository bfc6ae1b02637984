"""`python -m kapsule`: the command line. Nothing imports it.

May import: kapsule.exits, kapsule.scaleway, kapsule.access, kapsule.catalog, kapsule.upgrade, kapsule.rotate, kapsule.engine, kapsule.names, kapsule.files, kapsule.stackfile, kapsule.state, kapsule.cost, kapsule.plan, kapsule.reports, kapsule.generated, components.
"""
