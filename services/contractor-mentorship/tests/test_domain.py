"""The pure rules: status machine, offer, message composition, unread counting, WhatsApp links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contractor_mentorship.domain.messages import (
    Message,
    Transition,
    compose_messages,
    unread_count,
    whatsapp_link,
)
from contractor_mentorship.domain.offer import show_offer
from contractor_mentorship.domain.status import STATUSES, can_transition, sources_of

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("created", "requested", True),
        ("created", "matched", True),
        ("requested", "matched", True),
        ("matched", "initialized", True),
        ("initialized", "in_progress", True),
        ("in_progress", "finished", True),
        ("finished", "succeed", True),
        ("finished", "failed", True),
        ("created", "initialized", False),
        ("initialized", "finished", False),
        ("succeed", "failed", False),
        ("failed", "created", False),
        ("in_progress", "succeed", False),
    ],
)
def test_status_machine_allows_only_the_programme_order(current: str, target: str, allowed: bool) -> None:
    assert can_transition(current, target) is allowed  # type: ignore[arg-type]


def test_every_status_but_created_is_reachable() -> None:
    assert [s for s in STATUSES if not sources_of(s)] == ["created"]


@pytest.mark.parametrize(
    ("hired_days_ago", "has_matching", "is_mentor", "offered"),
    [
        (1, False, False, True),
        (30, False, False, True),
        (31, False, False, False),
        (1, True, False, False),
        (1, False, True, False),
        (None, False, False, False),
        (-1, False, False, False),  # hired in the future: data error, no offer
    ],
)
def test_offer_goes_to_recent_hires_without_matching_who_are_no_mentors(
    hired_days_ago: int | None, has_matching: bool, is_mentor: bool, offered: bool
) -> None:
    hired_at = None if hired_days_ago is None else NOW - timedelta(days=hired_days_ago)
    assert (
        show_offer(hired_at=hired_at, now=NOW, offer_days=30, has_matching=has_matching, is_mentor=is_mentor)
        is offered
    )


def _transitions(*statuses: str) -> list[Transition]:
    return [Transition(i, s, NOW + timedelta(minutes=i)) for i, s in enumerate(statuses, start=1)]


ALL = ("created", "requested", "matched", "initialized", "in_progress", "finished", "succeed")
RESULTS = {
    "7d": {"rate_avg_7d": "4.91", "avg_dp_7d": "0.8", "sh_7d": "31"},
    "14d": {
        "rate_avg_14d": "4.95",
        "avg_dp_14d": "0.9",
        "sh_14d": "64",
        "correct_answers": "9",
        "passed_test_flg": "1",
    },
}


def test_a_newbie_hears_of_the_match_only() -> None:
    messages = compose_messages(
        "newbie", _transitions(*ALL), counterpart_name="Иван Петров", results=RESULTS, promocode="GIFT"
    )
    assert [m.id for m in messages] == [4]
    assert "наставник: Иван Петров" in messages[0].text


def test_a_mentor_hears_of_match_progress_final_and_promocode_with_figures() -> None:
    messages = compose_messages(
        "mentor", _transitions(*ALL), counterpart_name="Анна", results=RESULTS, promocode="GIFT-42"
    )
    assert [m.id for m in messages] == [4, 5, 6, 7]
    assert "новичок: Анна" in messages[0].text
    assert "4.91" in messages[1].text and "31" in messages[1].text
    assert "4.95" in messages[2].text and "тест сдан: да" in messages[2].text
    assert "GIFT-42" in messages[3].text


def test_missing_figures_read_as_a_dash() -> None:
    [_, progress] = compose_messages(
        "mentor",
        _transitions("initialized", "in_progress"),
        counterpart_name=None,
        results={},
        promocode=None,
    )
    assert "рейтинг —" in progress.text


@pytest.mark.parametrize(
    ("last_read_minutes", "unread"), [(None, 3), (0, 3), (1, 2), (2, 1), (3, 0), (10, 0)]
)
def test_unread_counts_messages_newer_than_the_read_mark(last_read_minutes: int | None, unread: int) -> None:
    messages = [Message(i, "текст", NOW + timedelta(minutes=i)) for i in (1, 2, 3)]
    last_read = None if last_read_minutes is None else NOW + timedelta(minutes=last_read_minutes)
    assert unread_count(messages, last_read) == unread


@pytest.mark.parametrize(
    ("phone", "link"),
    [
        ("+7 (900) 123-45-67", "https://wa.me/79001234567"),
        ("79001234567", "https://wa.me/79001234567"),
        ("", None),
        (None, None),
        ("нет", None),
    ],
)
def test_whatsapp_link_keeps_only_the_digits(phone: str | None, link: str | None) -> None:
    assert whatsapp_link(phone) == link
