"""This repository's own program: the stack schema, the environment composition and the `kapsule` command."""
