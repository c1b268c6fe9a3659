"""Write the sample datasets of examples/datasets (re-run after changing them):

    .venv/bin/python examples/datasets/generate.py

- personal-goals: the same 6 goals in two selections (taxi and eats) as `goals.parquet`,
  `goals.jsonl`, `goals.csv`
  (columns exactly as services/personal-goals/README.md, "Dataset format").
- contractor-mentorship: the CRM's tables for the stand-ins' drivers (deploy/stand-ins fixtures):
  `crm/distribution.parquet`, `crm/results_to_send.parquet`, `crm/finished_promocodes.parquet`
  (columns as services/contractor-mentorship/README.md, "CRM datasets").
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
STARTS = datetime(2026, 1, 1, tzinfo=UTC)
EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)

GOALS = [
    {
        "selection_id": selection,
        "goal_id": f"{selection}-{uid}",
        "yandex_uid": uid,
        "application": application,
        "conditions": conditions,
        "bonus": {"type": "promocode", "value": f"{selection.upper()}-{uid[-1]}"},
        "starts_at": STARTS,
        "expires_at": EXPIRES,
    }
    # One goal per user and application at a time (a second one overlapping it would be skipped).
    for selection, application, conditions in [
        ("winter-econom", "taxi", {"rides": 5, "tariff": "econom"}),
        ("winter-eats", "eats", {"orders": 3}),
    ]
    for uid in ("demo-user-1", "demo-user-2", "demo-user-3")
]

GOALS_SCHEMA = pa.schema(
    [
        ("selection_id", pa.string()),
        ("goal_id", pa.string()),
        ("yandex_uid", pa.string()),
        ("application", pa.string()),
        ("conditions", pa.string()),
        ("bonus", pa.string()),
        ("starts_at", pa.timestamp("us", tz="UTC")),
        ("expires_at", pa.timestamp("us", tz="UTC")),
    ]
)


def _flat(goal: dict[str, object]) -> dict[str, object]:
    """JSON objects as JSON text (Parquet and CSV hold them as strings)."""
    return {k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v for k, v in goal.items()}


def write_goals() -> None:
    table = pa.Table.from_pylist([_flat(g) for g in GOALS], schema=GOALS_SCHEMA)
    pq.write_table(table, HERE / "goals.parquet")
    with (HERE / "goals.jsonl").open("w", encoding="utf-8") as out:
        for goal in GOALS:
            row = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in goal.items()}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    with (HERE / "goals.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=GOALS_SCHEMA.names)
        writer.writeheader()
        for goal in GOALS:
            row = _flat(goal)
            writer.writerow({k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()})


def write_crm() -> None:
    crm = HERE / "crm"
    crm.mkdir(exist_ok=True)
    distribution = [
        {
            "newbie_park_id": "park-msk-1",
            "newbie_driver_id": "newbie-msk-1",
            "mentor_park_id": "park-msk-1",
            "mentor_driver_id": "mentor-msk-1",
            "connected_dttm": datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
        }
    ]
    pq.write_table(pa.Table.from_pylist(distribution), crm / "distribution.parquet")
    results = [
        {
            "newbie_park_id": "park-msk-1",
            "newbie_driver_id": "newbie-msk-1",
            "rate_avg_7d": "4.91",
            "rate_avg_14d": "4.93",
            "avg_dp_7d": "0.87",
            "avg_dp_14d": "0.9",
            "sh_7d": "31.5",
            "sh_14d": "64",
            "correct_answers": "9",
            "passed_test_flg": "true",
        }
    ]
    pq.write_table(pa.Table.from_pylist(results), crm / "results_to_send.parquet")
    promocodes = [{"entity_id": "park-msk-1_newbie-msk-1", "promocode": "MENTOR-DEMO-2026"}]
    pq.write_table(pa.Table.from_pylist(promocodes), crm / "finished_promocodes.parquet")


if __name__ == "__main__":
    write_goals()
    write_crm()
