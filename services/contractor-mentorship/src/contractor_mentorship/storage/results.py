"""SQL of the CRM's progress figures stored per matching and stage."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

RESULT_COLUMNS = (
    "rate_avg_7d",
    "rate_avg_14d",
    "avg_dp_7d",
    "avg_dp_14d",
    "sh_7d",
    "sh_14d",
    "correct_answers",
    "passed_test_flg",
)


async def upsert_many(
    conn: asyncpg.Connection,
    stage: str,
    rows: Sequence[tuple[uuid.UUID, str, str, dict[str, str | None]]],
) -> None:
    """(matching id, newbie park id, newbie driver id, figures by column) for one stage."""
    if not rows:
        return
    columns = [[r[3].get(c) for r in rows] for c in RESULT_COLUMNS]
    await conn.execute(
        """
        INSERT INTO results (
            matching_id, stage, newbie_park_id, newbie_driver_id, rate_avg_7d, rate_avg_14d,
            avg_dp_7d, avg_dp_14d, sh_7d, sh_14d, correct_answers, passed_test_flg
        )
        SELECT r.matching_id, $1, r.park_id, r.driver_id, r.c1, r.c2, r.c3, r.c4, r.c5, r.c6, r.c7, r.c8
        FROM unnest(
            $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::text[], $11::text[], $12::text[]
        ) AS r (matching_id, park_id, driver_id, c1, c2, c3, c4, c5, c6, c7, c8)
        ON CONFLICT (matching_id, stage) DO UPDATE SET
            rate_avg_7d = EXCLUDED.rate_avg_7d, rate_avg_14d = EXCLUDED.rate_avg_14d,
            avg_dp_7d = EXCLUDED.avg_dp_7d, avg_dp_14d = EXCLUDED.avg_dp_14d,
            sh_7d = EXCLUDED.sh_7d, sh_14d = EXCLUDED.sh_14d,
            correct_answers = EXCLUDED.correct_answers, passed_test_flg = EXCLUDED.passed_test_flg,
            imported_at = now()
        """,
        stage,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        *columns,
    )
