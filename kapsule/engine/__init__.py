"""The real engine tier: the local Kubernetes API servers and the one driver that runs the program through
the Pulumi Automation API, for the local stack and for real ones (`python -m kapsule.engine`).

May import: kapsule.exits, kapsule.names, kapsule.files, kapsule.stackfile, kapsule.state, kapsule.drift, kapsule.upgrade, kapsule.rotate, kapsule.cost, components.
"""
