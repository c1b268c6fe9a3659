"""Operating on a service's parked messages: list, show, replay, discard, count.

Parked messages are rows of `parked_messages` (the consumer's given-up deliveries, queue
`<service>.work.parked`, and the relay's, queue `outbox`), each with a `kind` (`PARK_KINDS`) and a
free-text reason. A replay puts the message back through the service's outbox (the relay
publishes it): a consumer's message to the service's work queue, with its attempt count reset; an
outbox row to where it was going. Replays and discards remove the row and leave a record in
`parked_message_actions` (who, when, what) in the same transaction.
"""

from __future__ import annotations

import argparse
import getpass
import json
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from quintet_messaging.topology import HEADER_ATTEMPT, HEADER_PARK_REASON, PARK_KINDS, work_queue

MAX_LIST = 1000

_COLUMNS = "id, queue, message_id, type, task_id, kind, reason, parked_at"
_LIST = f"""
SELECT {_COLUMNS} FROM parked_messages
WHERE ($1::text IS NULL OR kind = $1)
ORDER BY id DESC
LIMIT $2
"""
_SHOW = f"SELECT {_COLUMNS}, body, headers FROM parked_messages WHERE id = $1"
_COUNTS = "SELECT kind, count(*) AS messages FROM parked_messages GROUP BY kind ORDER BY kind"
# Rows to act on: the given ids, or every row (of one kind, if given) when ids is NULL.
_TAKE = """
taken AS (
    DELETE FROM parked_messages
    WHERE ($1::bigint[] IS NULL OR id = ANY($1)) AND ($2::text IS NULL OR kind = $2)
    RETURNING *
), recorded AS (
    INSERT INTO parked_message_actions
        (action, actor, parked_id, queue, message_id, type, task_id, kind, reason, parked_at)
    SELECT $3, $4, id, queue, message_id, type, task_id, kind, reason, parked_at FROM taken
)
"""
_DISCARD = f"WITH {_TAKE} SELECT count(*) FROM taken"
# A consumer's message goes back to its work queue ($5) through the default exchange; a relay's
# (queue 'outbox') to where it was going: a task to its service's work queue, an event to `events`.
_REPLAY = f"""
WITH {_TAKE}, replayed AS (
    INSERT INTO outbox (message_id, message_type, exchange, routing_key, body, headers)
    SELECT coalesce(message_id, gen_random_uuid()),
           coalesce(type, ''),
           CASE WHEN queue = 'outbox' AND type NOT LIKE '%.task.%' THEN 'events' ELSE '' END,
           CASE
               WHEN queue <> 'outbox' THEN $5
               WHEN type LIKE '%.task.%' THEN split_part(type, '.task.', 1) || '.work'
               ELSE type
           END,
           body,
           headers - '{HEADER_ATTEMPT}' - '{HEADER_PARK_REASON}'
    FROM taken
    ON CONFLICT (message_id) DO NOTHING
)
SELECT count(*) FROM taken
"""


@dataclass(frozen=True)
class ParkedMessage:
    id: int
    queue: str
    message_id: uuid.UUID | None
    type: str | None
    task_id: str | None
    kind: str
    reason: str
    parked_at: datetime
    body: bytes | None = None  # `show_parked` only
    headers: dict[str, Any] | None = None  # `show_parked` only

    @classmethod
    def of(cls, row: asyncpg.Record) -> ParkedMessage:
        values = dict(row)
        if values.get("body") is not None:
            values["body"] = bytes(values["body"])
        return cls(**values)


def default_actor() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


async def list_parked(pool: asyncpg.Pool, *, kind: str | None = None, limit: int = 50) -> list[ParkedMessage]:
    """Parked messages, newest first, at most `limit` (≤ MAX_LIST), optionally of one kind."""
    if not 1 <= limit <= MAX_LIST:
        raise ValueError(f"limit must be between 1 and {MAX_LIST}")
    return [ParkedMessage.of(row) for row in await pool.fetch(_LIST, kind, limit)]


async def show_parked(pool: asyncpg.Pool, parked_id: int) -> ParkedMessage | None:
    row = await pool.fetchrow(_SHOW, parked_id)
    return None if row is None else ParkedMessage.of(row)


async def replay_parked(
    pool: asyncpg.Pool,
    service: str,
    parked_ids: Sequence[int] | None,
    *,
    actor: str,
    kind: str | None = None,
) -> int:
    """Put parked messages back on their way (the given ids, or all of them / of `kind` when
    `parked_ids` is None), attempts reset; returns how many. The worker's relay publishes them."""
    ids = None if parked_ids is None else list(parked_ids)
    return int(await pool.fetchval(_REPLAY, ids, kind, "replay", actor, work_queue(service)))


async def discard_parked(
    pool: asyncpg.Pool, parked_ids: Sequence[int] | None, *, actor: str, kind: str | None = None
) -> int:
    """Remove parked messages for good (recorded); returns how many."""
    ids = None if parked_ids is None else list(parked_ids)
    return int(await pool.fetchval(_DISCARD, ids, kind, "discard", actor))


async def parked_counts(pool: asyncpg.Pool) -> dict[str, int]:
    """Parked messages per kind (for `/metrics`); kinds with none are absent."""
    return {row["kind"]: int(row["messages"]) for row in await pool.fetch(_COUNTS)}


# -- `python -m <package> parked ...` -------------------------------------------------------------


def parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="the service's parked messages")
    commands = parser.add_subparsers(dest="action", required=True)
    listing = commands.add_parser("list", help="newest first")
    listing.add_argument("--reason", choices=PARK_KINDS, help="only messages parked for this reason")
    listing.add_argument("--limit", type=int, default=50)
    show = commands.add_parser("show", help="one message with its body and headers")
    show.add_argument("id", type=int)
    for name, help_ in (("replay", "back onto the work queue, attempts reset"), ("discard", "remove")):
        command = commands.add_parser(name, help=help_)
        which = command.add_mutually_exclusive_group(required=True)
        which.add_argument("id", type=int, nargs="?")
        which.add_argument("--all", action="store_true")
        command.add_argument("--reason", choices=PARK_KINDS, help="with --all: only this reason")
        command.add_argument("--actor", default=None, help="recorded as who did it (default user@host)")
    return parser


async def run_command(pool: asyncpg.Pool, service: str, args: argparse.Namespace, out: Any) -> Literal[0, 1]:
    """Run a parsed `parked` command, writing to `out`; the exit status."""
    if args.action == "list":
        for message in await list_parked(pool, kind=args.reason, limit=args.limit):
            subject = message.task_id or message.message_id
            print(
                f"{message.id}\t{message.parked_at:%Y-%m-%d %H:%M:%S}\t{message.kind}\t{message.type}\t"
                f"{subject}\t{message.reason[:160]}",
                file=out,
            )
        return 0
    if args.action == "show":
        shown = await show_parked(pool, args.id)
        if shown is None:
            print(f"no parked message {args.id}", file=out)
            return 1
        fields = {k: v for k, v in vars(shown).items() if k != "body"}
        fields["body"] = (shown.body or b"").decode("utf-8", "replace")
        print(json.dumps(fields, default=str, indent=2), file=out)
        return 0
    ids = None if args.all else [args.id]
    actor = args.actor or default_actor()
    if args.action == "replay":
        done = await replay_parked(pool, service, ids, actor=actor, kind=args.reason)
    else:
        done = await discard_parked(pool, ids, actor=actor, kind=args.reason)
    print(f"{args.action}ed {done} message(s)", file=out)
    return 0 if done or args.all else 1
