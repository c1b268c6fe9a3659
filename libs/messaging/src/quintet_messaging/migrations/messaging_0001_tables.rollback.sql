DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();
DROP TABLE parked_messages;
DROP TABLE schedules;
DROP TABLE inbox;
DROP TABLE outbox;
