"""CI's own way through the API server's allow-list: the runner's egress address, read and checked (`address`),
and the rule a run adds for itself and takes out again, through the Scaleway SDK (`acl`, `python -m kapsule
access open|close`).

May import: kapsule.exits, kapsule.scaleway, kapsule.names, kapsule.files, kapsule.stackfile, components.
"""
