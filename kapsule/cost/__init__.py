"""What a stack costs: the price catalog and its refresh from Scaleway's public catalog (`prices`), and
each resource's monthly price and carbon (`estimate`).

May import: kapsule.exits, kapsule.scaleway, kapsule.names, kapsule.files, kapsule.resources, components.
"""
