from typing import Any

from personal_goals import SCHEMA
from personal_goals.migrations import MIGRATION_SOURCES
from quintet_db import stairway


async def test_every_migration_applies_rolls_back_and_applies_again(database_factory: Any) -> None:
    dsn = await database_factory.create()
    assert stairway(dsn, SCHEMA, MIGRATION_SOURCES) == 4  # messaging_0001, 0001, 0002, 0003


async def test_two_service_schemas_share_one_database(database_factory: Any) -> None:
    dsn = await database_factory.create()
    stairway(dsn, SCHEMA, MIGRATION_SOURCES)
    stairway(dsn, "personal_goals_second", MIGRATION_SOURCES)
