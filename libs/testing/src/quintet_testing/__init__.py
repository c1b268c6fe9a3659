"""Test infrastructure shared by every Quintet package (loaded as a pytest plugin).

Fixtures (plugin): `pg_server_dsn`, `database_factory`, `amqp_url`, `s3_endpoint`, `s3_credentials`,
`s3` (a session S3 client), `platform_settings`, `settings_overrides`. For a service's tests:
`service_fixtures(SERVICE)`, `stairway_test(SERVICE, migrations=N)`, `eventually`, `outbox_events`,
`published_events`, and the HTTP helpers `api_client`, `bearer`, `expect`, `expect_error`.
"""

from quintet_testing.http import api_client, bearer, expect, expect_error
from quintet_testing.infra import DatabaseFactory, free_port, start_moto_server, wait_for_http
from quintet_testing.service import outbox_events, published_events, service_fixtures, stairway_test
from quintet_testing.waiting import eventually, eventually_blocking

__all__ = [
    "DatabaseFactory",
    "api_client",
    "bearer",
    "eventually",
    "eventually_blocking",
    "expect",
    "expect_error",
    "free_port",
    "outbox_events",
    "published_events",
    "service_fixtures",
    "stairway_test",
    "start_moto_server",
    "wait_for_http",
]
