"""The goals dataset's expected columns and the pure checks of a dataset's schema.

Accepted encodings (decided here, documented in the README):
- Parquet: `selection_id`, `goal_id`, `yandex_uid`, `application` are strings; `conditions` and `bonus`
  are strings holding a JSON object; `starts_at`, `expires_at` are timestamps (any unit; naive = UTC).
- CSV (header row required) and JSONL: the same names; timestamps are ISO-8601 strings; in JSONL
  `conditions`/`bonus` are nested objects or JSON strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

STRING_COLUMNS = ("selection_id", "goal_id", "yandex_uid", "application")
JSON_COLUMNS = ("conditions", "bonus")
TIMESTAMP_COLUMNS = ("starts_at", "expires_at")
GOAL_COLUMNS = (*STRING_COLUMNS, *JSON_COLUMNS, *TIMESTAMP_COLUMNS)

ColumnKind = Literal["string", "json", "timestamp"]


def column_kind(name: str) -> ColumnKind:
    if name in TIMESTAMP_COLUMNS:
        return "timestamp"
    if name in JSON_COLUMNS:
        return "json"
    return "string"


@dataclass(frozen=True)
class SchemaProblem:
    column: str
    problem: Literal["missing", "unexpected", "mistyped"]
    message: str


def _is_string(data_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(data_type):
        return _is_string(data_type.value_type)
    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type)


def _type_fits(kind: ColumnKind, data_type: pa.DataType) -> bool:
    if kind == "timestamp":
        return pa.types.is_timestamp(data_type)
    return _is_string(data_type)


_EXPECTED_TYPE = {"string": "string", "json": "string holding a JSON object", "timestamp": "timestamp"}


def arrow_schema_problems(schema: pa.Schema) -> list[SchemaProblem]:
    """Every problem of a typed (Parquet) schema, one per offending column."""
    problems = column_name_problems(schema.names)
    for field in schema:
        if field.name in GOAL_COLUMNS and not _type_fits(column_kind(field.name), field.type):
            kind = column_kind(field.name)
            problems.append(
                SchemaProblem(
                    field.name,
                    "mistyped",
                    f"column {field.name!r} is {field.type}, expected {_EXPECTED_TYPE[kind]}",
                )
            )
    return problems


def column_name_problems(names: list[str]) -> list[SchemaProblem]:
    """Missing and unexpected columns (untyped formats can only be checked by name)."""
    problems = [
        SchemaProblem(name, "missing", f"column {name!r} is missing")
        for name in GOAL_COLUMNS
        if name not in names
    ]
    problems += [
        SchemaProblem(name, "unexpected", f"column {name!r} is not part of the goals schema")
        for name in names
        if name not in GOAL_COLUMNS
    ]
    return problems


# JSON value types a JSONL column may carry (null is always allowed: the row is then skipped).
_JSONL_TYPES: dict[ColumnKind, tuple[type, ...]] = {
    "string": (str,),
    "json": (dict, str),
    "timestamp": (str,),
}


def jsonl_type_problems(seen_types: dict[str, set[type]]) -> list[SchemaProblem]:
    """Columns of a JSONL dataset holding values of a type the column cannot have."""
    problems = []
    for name, types in seen_types.items():
        if name not in GOAL_COLUMNS:
            continue
        allowed = _JSONL_TYPES[column_kind(name)]
        wrong = sorted(t.__name__ for t in types if t is not type(None) and not issubclass(t, allowed))
        if wrong:
            kind = column_kind(name)
            expected = (
                "JSON object"
                if kind == "json"
                else f"{_EXPECTED_TYPE[kind]} (ISO-8601)"
                if kind == "timestamp"
                else "string"
            )
            problems.append(
                SchemaProblem(
                    name, "mistyped", f"column {name!r} holds {', '.join(wrong)}, expected {expected}"
                )
            )
    return problems
