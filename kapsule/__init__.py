"""This repository's own program, one room per concern. From the bottom up:

- `exits`, `names`, `files`, `scaleway` (here): the exit codes, the shared constants, the bounded file read,
  the Scaleway SDK's calls within a deadline.
- `stackfile`: the stack file: reading it, its schema, its error sentences, its secrets, the stacks.
- `resources`: a resource as the plan and the state both see it, and its URN.
- `state`: recorded state: a checkpoint or an export, read and checked.
- `cost`: the price catalog and what a stack costs.
- `plan`: rendering under mocks, the diff, the replacement rules, safety, the outcome, the batch.
- `reports`: the plan and the cost as text, markdown and JSON.
- `generated`: the reference in `docs/` and the workflows' stack lists.
- `engine`: the real Pulumi engine and the local Kubernetes API.
- `cli`: `python -m kapsule`.

Each room's `__init__.py` says what it may import; imports only go down (`tests/test_layout.py`).
The modules here import nothing of `kapsule` above them.

May import: components.
"""
