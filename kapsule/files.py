"""The bounded file read, for the modules here: its one home is `components/files.py` (the components read
a kubeconfig file with it, and they install without this package)."""

from components.files import FileProblem, MissingFile, read_regular, read_text, write_private

__all__ = ["FileProblem", "MissingFile", "read_regular", "read_text", "write_private"]
