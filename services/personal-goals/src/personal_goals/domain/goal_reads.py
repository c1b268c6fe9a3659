"""Whose goals a reader sees: the user the verified token names (`sub`). A trusted backend reading
on behalf of a user names that user explicitly, and needs the `goals:read-any` scope for it."""

from __future__ import annotations

from personal_goals.domain.errors import NoUser, ReadingOthersGoalsForbidden

READ = "goals:read"
READ_ANY = "goals:read-any"


def goals_reader(sub: str, scopes: frozenset[str], named_user: str | None) -> str:
    if named_user is not None and named_user != sub:
        if READ_ANY not in scopes:
            raise ReadingOthersGoalsForbidden(READ_ANY)
        return named_user
    if not sub.strip():
        raise NoUser()
    return sub
