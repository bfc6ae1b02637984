"""The offline plan: the program rendered under the SDK's mocks (`render`, `mocks`), the diff each
provider would make (`diff`, `replacement`), the upgrade and drain safety rules (`safety`), what a stack
reads from elsewhere (`elsewhere`), one stack's plan (`stack`), its outcome (`outcome`) and the batch
of stacks (`batch`).

May import: kapsule.exits, kapsule.names, kapsule.files, kapsule.stackfile, kapsule.resources, kapsule.state, kapsule.cost, policy, components.
"""
