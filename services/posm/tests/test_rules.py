"""Pure rules: settings that fit a template, template visibility, the status machine, retention."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from posm.domain import rules
from posm.domain.errors import InvalidSettings
from posm.domain.settings import TemplateSettings, check_fits, merge

A6 = [(297.64, 419.53)]
TWO_PAGES = [(297.64, 419.53), (595.0, 842.0)]


def settings(**changes: Any) -> TemplateSettings:
    base: dict[str, Any] = {
        "page": 1,
        "qr": {"x": 70, "y": 100, "size": 160},
        "text": {"x": 148, "y": 330, "font_size": 22, "format": "Стол {label}"},
    }
    return TemplateSettings.model_validate(merge(base, changes))


@pytest.mark.parametrize(
    ("changes", "pages"),
    [
        ({}, A6),
        ({"page": 2, "qr": {"x": 400, "y": 600, "size": 150}}, TWO_PAGES),
        ({"qr": {"x": 0, "y": 0, "size": 297.64}}, A6),
        ({"text": {"format": "{label} / {table_id}"}}, A6),
        ({"text": {"format": "без подстановок"}}, A6),
    ],
)
def test_settings_that_fit_the_template_pass(
    changes: dict[str, Any], pages: list[tuple[float, float]]
) -> None:
    check_fits(settings(**changes), pages)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"page": 2}, "settings.page"),
        ({"qr": {"x": 200}}, "settings.qr"),
        ({"qr": {"y": 300}}, "settings.qr"),
        ({"qr": {"size": 500}}, "settings.qr"),
        ({"text": {"x": 300}}, "settings.text.x"),
        ({"text": {"y": 500}}, "settings.text.y"),
        ({"text": {"y": 5}}, "settings.text.y"),
        ({"text": {"format": "Стол {number}"}}, "settings.text.format"),
        ({"text": {"format": "{label.__class__}"}}, "settings.text.format"),
        ({"text": {"format": "{label!r}"}}, "settings.text.format"),
        ({"text": {"format": "{}"}}, "settings.text.format"),
        ({"text": {"format": "{label"}}, "settings.text.format"),
        ({"text": {"format": "a\x00b"}}, "settings.text.format"),
    ],
)
def test_settings_that_do_not_fit_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidSettings) as caught:
        check_fits(settings(**changes), A6)
    assert caught.value.field == field


def test_overrides_replace_nested_values_one_by_one() -> None:
    merged = merge({"qr": {"x": 1, "y": 2, "size": 3}, "page": 1}, {"qr": {"size": 9}})
    assert merged == {"qr": {"x": 1, "y": 2, "size": 9}, "page": 1}


PLACE, OTHER, BRAND = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(
    ("visibility", "places", "brands", "brand_of_place", "visible"),
    [
        ("global", [], [], None, True),
        ("restaurant", [PLACE], [], None, True),
        ("restaurant", [OTHER], [], None, False),
        ("brand", [], [BRAND], BRAND, True),
        ("brand", [], [BRAND], uuid.uuid4(), False),
        ("brand", [], [BRAND], None, False),
    ],
)
def test_a_template_is_visible_to_everyone_its_places_or_its_brands_places(
    visibility: str,
    places: list[uuid.UUID],
    brands: list[uuid.UUID],
    brand_of_place: uuid.UUID | None,
    visible: bool,
) -> None:
    assert rules.template_visible(visibility, places, brands, PLACE, brand_of_place) is visible


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("created", "scheduled", True),
        ("scheduled", "in-progress", True),
        ("in-progress", "done", True),
        ("in-progress", "error", True),
        ("done", "deleted", True),
        ("created", "done", False),
        ("done", "in-progress", False),
        ("deleted", "done", False),
        ("in-progress", "deleted", False),
    ],
)
def test_a_generation_moves_only_forward(current: str, target: str, allowed: bool) -> None:
    assert rules.can_move(current, target) is allowed


NOW = datetime(2026, 12, 1, tzinfo=UTC)


def generation(gid: int, status: str, days_old: float, template: int = 1) -> rules.StoredGeneration:
    return rules.StoredGeneration(
        gid, PLACE, template, status, NOW - timedelta(days=days_old) + timedelta(seconds=gid)
    )


@pytest.mark.parametrize(
    ("generations", "removed"),
    [
        # more than N=2: the oldest finished ones go
        ([generation(1, "done", 1), generation(2, "done", 1), generation(3, "done", 1)], [1]),
        # older than K=10 days goes, but the last done one stays whatever its age
        ([generation(1, "done", 30), generation(2, "error", 20)], [2]),
        ([generation(1, "done", 30), generation(2, "done", 20)], [1]),
        # active generations are never removed, though they count towards N
        ([generation(1, "error", 1), generation(2, "created", 1), generation(3, "in-progress", 0)], [1]),
        # deleted ones do not count
        ([generation(1, "deleted", 1), generation(2, "done", 1), generation(3, "done", 1)], []),
        # pairs are independent
        ([generation(1, "done", 1, 1), generation(2, "done", 1, 2), generation(3, "done", 1, 2)], []),
        ([generation(1, "error", 1), generation(2, "error", 1), generation(3, "error", 1)], [1]),
    ],
)
def test_retention_keeps_n_generations_of_k_days_and_the_last_done_one(
    generations: list[rules.StoredGeneration], removed: list[int]
) -> None:
    assert rules.generations_to_remove(generations, 2, timedelta(days=10), NOW) == removed


@pytest.mark.parametrize(
    ("labels", "names"),
    [
        (["1", "2"], ["1.pdf", "2.pdf"]),
        (["5", "5", "5"], ["5.pdf", "5 (2).pdf", "5 (3).pdf"]),
        (["a/b", "..", "Стол 7"], ["a_b.pdf", "table.pdf", "Стол 7.pdf"]),
        (["A", "a"], ["A.pdf", "a (2).pdf"]),
    ],
)
def test_archive_entry_names_are_safe_and_unique(labels: list[str], names: list[str]) -> None:
    assert rules.unique_entry_names(labels) == names


def test_the_body_hash_ignores_key_order() -> None:
    assert rules.body_hash({"a": 1, "b": {"c": 2, "d": 3}}) == rules.body_hash(
        {"b": {"d": 3, "c": 2}, "a": 1}
    )
    assert rules.body_hash({"a": 1}) != rules.body_hash({"a": 2})
