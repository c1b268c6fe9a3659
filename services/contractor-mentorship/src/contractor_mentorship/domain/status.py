"""The matching's status machine.

created → requested → matched → initialized → in_progress → finished → succeed | failed.
`created → matched` is allowed as well: the CRM may match a newbie whose request row it read before
our transaction marking the matching `requested` committed.
"""

from __future__ import annotations

from typing import Literal, get_args

from quintet_contracts.contractor_mentorship import MatchingStatus

STATUSES: tuple[MatchingStatus, ...] = get_args(MatchingStatus)

TRANSITIONS: dict[MatchingStatus, frozenset[MatchingStatus]] = {
    "created": frozenset({"requested", "matched"}),
    "requested": frozenset({"matched"}),
    "matched": frozenset({"initialized"}),
    "initialized": frozenset({"in_progress"}),
    "in_progress": frozenset({"finished"}),
    "finished": frozenset({"succeed", "failed"}),
    "succeed": frozenset(),
    "failed": frozenset(),
}

# A newbie sees their mentor once matched; a mentor sees newbies once both were told of the match.
NEWBIE_SEES_MENTOR: tuple[MatchingStatus, ...] = (
    "matched",
    "initialized",
    "in_progress",
    "finished",
    "succeed",
)
MENTOR_SEES_NEWBIE: tuple[MatchingStatus, ...] = ("initialized", "in_progress", "finished", "succeed")
COMPLETED: tuple[MatchingStatus, ...] = ("succeed", "failed")

Role = Literal["newbie", "mentor", "none"]


def can_transition(current: MatchingStatus, target: MatchingStatus) -> bool:
    return target in TRANSITIONS[current]


def sources_of(target: MatchingStatus) -> list[MatchingStatus]:
    """Every status a matching may move to `target` from."""
    return [status for status in STATUSES if target in TRANSITIONS[status]]
