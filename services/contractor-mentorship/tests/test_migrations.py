from typing import Any

from contractor_mentorship import SCHEMA
from contractor_mentorship.migrations import MIGRATION_SOURCES
from quintet_db import stairway


async def test_every_migration_applies_rolls_back_and_applies_again(database_factory: Any) -> None:
    dsn = await database_factory.create()
    assert stairway(dsn, SCHEMA, MIGRATION_SOURCES) == 2
