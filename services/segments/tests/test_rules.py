"""Pure rules, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from segments.domain import rules

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "slug"),
    [("avito_voice", "AVITO_VOICE"), (" Disc-30.v2 ", "DISC-30.V2"), ("A" * 128, "A" * 128), ("7", "7")],
)
def test_slugs_are_normalised_to_upper_case(raw: str, slug: str) -> None:
    assert rules.normalise_slug(raw) == slug


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "A" * 129, "with space", "кириллица", "a/b", "a:b", "ı", "\ufb00"],  # ı→I, ﬀ→FF
)
def test_a_malformed_slug_is_rejected_naming_the_field(raw: str) -> None:
    with pytest.raises(rules.RuleViolation) as info:
        rules.normalise_slug(raw, "segments_to_add.0")
    assert info.value.field == "segments_to_add.0"


@pytest.mark.parametrize(
    ("percent", "selection", "buckets"),
    [
        (None, None, 0),
        (10, None, 1000),
        (0.01, None, 1),
        (100, None, 10_000),
        (None, 0.1, 1000),
        (None, 1, 10_000),
    ],
)
def test_rollout_size_is_counted_in_ten_thousand_buckets(
    percent: float | None, selection: float | None, buckets: int
) -> None:
    assert rules.rollout_buckets(percent, selection) == buckets


@pytest.mark.parametrize(
    ("percent", "selection", "field"),
    [(10, 0.1, "percent"), (101, None, "percent"), (-1, None, "percent"), (None, 1.5, "selection")],
)
def test_an_impossible_rollout_size_names_its_field(
    percent: float | None, selection: float | None, field: str
) -> None:
    with pytest.raises(rules.RuleViolation) as info:
        rules.rollout_buckets(percent, selection)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("expires_at", "ttl", "expected"),
    [
        (None, None, None),
        (None, 60, NOW + timedelta(seconds=60)),
        (NOW + timedelta(days=1), None, NOW + timedelta(days=1)),
    ],
)
def test_expiry_is_absolute_or_relative_to_now(
    expires_at: datetime | None, ttl: int | None, expected: datetime | None
) -> None:
    assert rules.expiry(expires_at, ttl, NOW, "f") == expected


@pytest.mark.parametrize(
    ("expires_at", "ttl"),
    [
        (NOW, None),
        (NOW - timedelta(seconds=1), None),
        (None, 0),
        (NOW + timedelta(days=1), 60),
        (datetime(2030, 1, 1), None),
        (NOW + timedelta(days=101 * 365), None),
    ],
    ids=["now", "past", "zero-ttl", "both", "naive", "beyond-100-years"],
)
def test_an_expiry_not_in_the_future_is_rejected(expires_at: datetime | None, ttl: int | None) -> None:
    with pytest.raises(rules.RuleViolation):
        rules.expiry(expires_at, ttl, NOW, "segments_to_add.0")


@pytest.mark.parametrize(
    ("add", "delete"),
    [(["A", "A"], []), ([], ["B", "B"]), (["A"], ["A"])],
    ids=["added-twice", "deleted-twice", "added-and-deleted"],
)
def test_a_segment_may_appear_once_across_both_lists(add: list[str], delete: list[str]) -> None:
    with pytest.raises(rules.RuleViolation):
        rules.membership_change([rules.SegmentToAdd(s) for s in add], delete)


@pytest.mark.parametrize(
    ("period", "start", "end", "expected"),
    [
        ("2023-08", None, None, (date(2023, 8, 1), date(2023, 9, 1))),
        ("2023-12", None, None, (date(2023, 12, 1), date(2024, 1, 1))),
        (None, "2023-08-10", "2023-08-11", (date(2023, 8, 10), date(2023, 8, 11))),
    ],
)
def test_report_periods_are_half_open(
    period: str | None, start: str | None, end: str | None, expected: tuple[date, date]
) -> None:
    result = rules.report_period(period, start, end)
    assert (result.start, result.end) == expected


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("2023-13", None, None),
        ("9999-12", None, None),
        ("0000-01", None, None),
        ("2023-8", None, None),
        ("août", None, None),
        (None, None, None),
        (None, "2023-08-10", None),
        (None, "2023-08-10", "2023-08-10"),
        (None, "2023-02-30", "2023-03-01"),
        ("2023-08", "2023-08-01", "2023-09-01"),
    ],
)
def test_an_invalid_report_period_is_rejected(period: str | None, start: str | None, end: str | None) -> None:
    with pytest.raises(rules.RuleViolation):
        rules.report_period(period, start, end)
