"""What `make generate` writes: the reference in `docs/` (`reference`, `fields`) and the workflows'
stack lists (`workflows`).

May import: kapsule.exits, kapsule.names, kapsule.files, kapsule.stackfile, components.
"""
