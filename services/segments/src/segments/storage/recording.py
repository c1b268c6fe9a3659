"""The one SQL tail every membership change ends with: history rows and outbox events, set-based.

A change statement is written as CTEs ending in `changed(user_id, segment_id, slug, operation,
reason, at)`; `record_changes` appends the history insert and the `segments.membership-changed`
outbox insert, so the change, its history and its events are one statement in the caller's
transaction. Events are built in SQL (the same envelope `quintet_contracts` parses) because a 10 %
rollout over a million users is 100,000 events: one INSERT ... SELECT, not 100,000 round trips.
"""

from __future__ import annotations

from quintet_contracts.segments import MEMBERSHIP_CHANGED
from quintet_messaging import HEADER_REQUEST_ID

_EVENT = MEMBERSHIP_CHANGED.type


def record_changes(request_id_param: str, extra_columns: str = "") -> str:
    """SQL continuing a `WITH ... changed AS (...)` chain; the statement returns the count recorded.

    `request_id_param` is the placeholder (e.g. `$3`) carrying the request id or NULL;
    `extra_columns` (", expr") are appended to the returned row.
    """
    return f"""
    , history AS (
        INSERT INTO membership_history (user_id, segment_id, slug, operation, reason, at)
        SELECT user_id, segment_id, slug, operation, reason, at FROM changed
        RETURNING user_id, slug, operation, reason, at
    ), events AS (
        INSERT INTO outbox (message_id, message_type, exchange, routing_key, body, headers)
        SELECT e.message_id, '{_EVENT}', 'events', '{_EVENT}',
            -- Concatenated rather than json_build_object: half the cost at 100,000 rows. Every
            -- free-text value goes through to_json (escaping); operation and reason are
            -- constrained to fixed words by the history table's CHECKs.
            convert_to(
                '{{"message_id":"' || e.message_id || '","type":"{_EVENT}","occurred_at":'
                || (SELECT to_json(now())::text) || ',"producer":"segments","request_id":'
                || coalesce(to_json({request_id_param}::text)::text, 'null')
                || ',"payload":{{"user_id":' || e.user_id || ',"slug":' || to_json(e.slug)::text
                || ',"operation":"' || e.operation || '","reason":"' || e.reason
                || '","at":' || to_json(e.at)::text || '}}}}',
                'UTF8'
            ),
            CASE WHEN {request_id_param}::text IS NULL THEN '{{}}'::jsonb
                 ELSE jsonb_build_object('{HEADER_REQUEST_ID}', {request_id_param}::text) END
        FROM (SELECT gen_random_uuid() AS message_id, h.* FROM history h) e
    )
    SELECT (SELECT count(*) FROM history) AS recorded{extra_columns}
    """
