"""Where this service's schema comes from: the messaging tables first, then our own migrations."""

from pathlib import Path

import quintet_messaging

MIGRATION_SOURCES = [
    quintet_messaging.MIGRATIONS_DIR,
    Path(__file__).resolve().parents[2] / "migrations",
]
