"""Recorded state: what a deployment left (`records`), read from a file bounded and checked for its
shape and its owner (`reading`), found in the local backend or named on the command line (`backend`), and
an export made fit to publish (`redact`).

May import: kapsule.names, kapsule.files, kapsule.resources.
"""
