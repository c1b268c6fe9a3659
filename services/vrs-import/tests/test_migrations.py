from typing import Any

from quintet_db import stairway
from vrs_import import SCHEMA
from vrs_import.migrations import MIGRATION_SOURCES


async def test_every_migration_applies_rolls_back_and_applies_again(database_factory: Any) -> None:
    dsn = await database_factory.create()
    assert stairway(dsn, SCHEMA, MIGRATION_SOURCES) == 2
