"""Messaging for Quintet services over RabbitMQ.

Write side (api and worker): `publish_event`, `enqueue_task`, `enqueue_tasks_many` insert into the
transactional outbox. Worker side: `Worker` (relay + consumers + retries/parking + periodic jobs).
Migrations for the tables live in `MIGRATIONS_DIR`; apply them before the service's own.
"""

from pathlib import Path

from quintet_messaging.health import broker_ready, check_broker
from quintet_messaging.outbox import (
    current_request_id,
    enqueue_task,
    enqueue_tasks_many,
    events_insert_sql,
    publish_event,
    publish_events_many,
    task_type,
)
from quintet_messaging.relay import OutboxRelay, notify_channel
from quintet_messaging.topology import (
    HEADER_ATTEMPT,
    HEADER_PARK_REASON,
    HEADER_REQUEST_ID,
    HEADER_TASK,
    HEADER_TASK_ID,
    PARK_KINDS,
    Topology,
    declare_topology,
    parked_queue,
    wait_queue,
    work_queue,
)
from quintet_messaging.worker import Worker, WorkerOptions

MIGRATIONS_DIR: Path = Path(__file__).parent / "migrations"

__all__ = [
    "HEADER_ATTEMPT",
    "HEADER_PARK_REASON",
    "HEADER_REQUEST_ID",
    "HEADER_TASK",
    "HEADER_TASK_ID",
    "MIGRATIONS_DIR",
    "PARK_KINDS",
    "OutboxRelay",
    "Topology",
    "Worker",
    "WorkerOptions",
    "broker_ready",
    "check_broker",
    "current_request_id",
    "declare_topology",
    "enqueue_task",
    "enqueue_tasks_many",
    "events_insert_sql",
    "notify_channel",
    "parked_queue",
    "publish_event",
    "publish_events_many",
    "task_type",
    "wait_queue",
    "work_queue",
]
