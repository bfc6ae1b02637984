"""The stack file: bounded reading (`reading`), the schema (`schema`), the error sentences (`messages`,
`keys`), the secrets it must never show (`secrets`), the stacks of the repository and their order
(`stacks`), the program's environment built from it (`environment`) and the editor schema.

May import: kapsule.exits, kapsule.names, kapsule.files, components.
"""
