-- Parked messages get a kind (why, in one word: what /metrics counts and `parked list --reason`
-- filters on), and every replay or discard leaves a record.
-- depends: messaging_0001_tables

ALTER TABLE parked_messages ADD COLUMN kind text;
UPDATE parked_messages SET kind = CASE
    WHEN reason LIKE 'failed %' THEN 'failed'
    WHEN reason LIKE 'invalid payload%' OR reason LIKE 'task message without%' THEN 'invalid-payload'
    WHEN reason LIKE 'unknown message type%' THEN 'unknown-type'
    WHEN reason LIKE 'returned to the queue unsettled%' THEN 'redelivered'
    WHEN reason LIKE 'unroutable%' THEN 'unroutable'
    WHEN reason LIKE 'cannot be published%' THEN 'unpublishable'
    ELSE 'other'
END;
ALTER TABLE parked_messages ALTER COLUMN kind SET NOT NULL;
CREATE INDEX parked_messages_kind_idx ON parked_messages (kind, id);

CREATE TABLE parked_message_actions (
    id bigserial PRIMARY KEY,
    action text NOT NULL CHECK (action IN ('replay', 'discard')),
    actor text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    parked_id bigint NOT NULL,
    queue text NOT NULL,
    message_id uuid,
    type text,
    task_id text,
    kind text NOT NULL,
    reason text NOT NULL,
    parked_at timestamptz NOT NULL
);
