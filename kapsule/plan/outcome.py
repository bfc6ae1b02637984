"""What a plan found: the change to each resource, the plan of one stack, and the exit codes. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..exits import EXIT_CHANGES, EXIT_DESTRUCTIVE, EXIT_INVALID, EXIT_NO_CHANGES
from ..resources.model import Resource

if TYPE_CHECKING:
    from ..cost.estimate import CostChange

Action = Literal["create", "update", "replace", "delete", "same"]
ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "delete", "same")


#: Exit codes of `python -m kapsule plan`, most severe last wins: invalid beats destructive beats changes.
#: A pull-request comment may hold 65536 characters; keep room for the summary table.
@dataclass
class Change:
    """What happens to one resource."""

    resource: Resource
    action: Action
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    destroys: str | None = None
    uncertain: list[str] = field(default_factory=list)
    """Properties the plan cannot compare offline (a `secure:` value against ciphertext): they may change."""
    drain: str | None = None
    """For a pool replaced or deleted: what happens to its workloads first (drained, or stopped at once)."""

    @property
    def destructive(self) -> bool:
        """Whether this change destroys something live."""
        return self.destroys is not None


@dataclass
class Plan:
    """Every change to one stack, in URN order, and the problems found against recorded state."""

    stack: str
    stack_file: str
    state: str | None
    changes: list[Change]
    outputs: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cost: CostChange | None = None
    """The monthly cost before (recorded state) and after the plan."""
    notes: list[str] = field(default_factory=list)
    """What a reader should know that is neither an error nor a warning: where a platform stack's cluster comes from."""
    output_changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """Stack outputs added, removed or changed against the recorded ones: (old, new), None for absent.
    A `StackReference` consumer reads them, so they are changes even when no resource changes."""

    def count(self, action: Action) -> int:
        """How many resources take an action."""
        return sum(1 for change in self.changes if change.action == action)

    @property
    def has_changes(self) -> bool:
        """Whether applying the stack would change anything."""
        return bool(self.output_changes) or any(change.action != "same" for change in self.changes)

    @property
    def destructive(self) -> bool:
        """Whether applying the stack would destroy something live."""
        return any(change.destructive for change in self.changes)

    @property
    def exit_code(self) -> int:
        """This plan's exit code alone."""
        if self.errors:
            return EXIT_INVALID
        if self.destructive:
            return EXIT_DESTRUCTIVE
        return EXIT_CHANGES if self.has_changes else EXIT_NO_CHANGES


@dataclass
class Invalid:
    """A stack whose file could not be planned: the one clear error."""

    stack: str
    stack_file: str
    error: str
    kind: str = "stack file"
    """What could not be used: `stack file`, `state file`, `policy config`, or `planner` for a failure of this tool."""


def exit_code(results: list[Plan | Invalid]) -> int:
    """The exit code for several stacks: the most severe outcome of any of them."""
    codes = [EXIT_INVALID if isinstance(r, Invalid) else r.exit_code for r in results]
    for code in (EXIT_INVALID, EXIT_DESTRUCTIVE, EXIT_CHANGES):
        if code in codes:
            return code
    return EXIT_NO_CHANGES
