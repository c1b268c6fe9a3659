DROP TABLE parked_message_actions;
DROP INDEX parked_messages_kind_idx;
ALTER TABLE parked_messages DROP COLUMN kind;
