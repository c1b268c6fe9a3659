"""Messages a driver reads about a matching, composed from its transitions (in Russian).

A message is one transition the reader should hear about: the match (both), the 7-day and the final
progress and the promocode (the mentor). Its id is the transition's, its time the transition's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from contractor_mentorship.domain.status import Role


@dataclass(frozen=True)
class Transition:
    id: int
    to_status: str
    created_at: datetime


@dataclass(frozen=True)
class Message:
    id: int
    text: str
    created_at: datetime


_NO_FIGURE = "—"


def _figure(results: Mapping[str, str | None] | None, column: str) -> str:
    value = (results or {}).get(column)
    return value if value not in (None, "") else _NO_FIGURE


def _passed(results: Mapping[str, str | None] | None) -> str:
    value = (results or {}).get("passed_test_flg")
    if value is None or value == "":
        return _NO_FIGURE
    return "да" if str(value).strip().lower() in {"1", "true", "t", "yes", "да"} else "нет"


def compose_text(
    role: Role,
    to_status: str,
    *,
    counterpart_name: str | None,
    results_7d: Mapping[str, str | None] | None = None,
    results_14d: Mapping[str, str | None] | None = None,
    promocode: str | None = None,
) -> str | None:
    """The text of the message about a move to `to_status` for a reader of `role`; None: no message."""
    name = counterpart_name or "водитель"
    if to_status == "initialized":
        if role == "newbie":
            return (
                f"Вам назначен наставник: {name}. Напишите или позвоните ему — "
                "он поможет разобраться с работой в первые недели."
            )
        if role == "mentor":
            return f"У вас новый новичок: {name}. Свяжитесь с ним и помогите освоиться в первые недели."
    if role != "mentor":
        return None
    if to_status == "in_progress":
        r = results_7d
        return (
            f"Прогресс новичка {name} за 7 дней: средний рейтинг {_figure(r, 'rate_avg_7d')}, "
            f"активность {_figure(r, 'avg_dp_7d')}, часов на линии {_figure(r, 'sh_7d')}."
        )
    if to_status == "finished":
        r = results_14d
        return (
            f"Итоги новичка {name} за 14 дней: средний рейтинг {_figure(r, 'rate_avg_14d')}, "
            f"активность {_figure(r, 'avg_dp_14d')}, часов на линии {_figure(r, 'sh_14d')}, "
            f"правильных ответов в тесте {_figure(r, 'correct_answers')}, тест сдан: {_passed(r)}."
        )
    if to_status == "succeed":
        return (
            f"Новичок {name} успешно прошёл программу наставничества. "
            f"Ваш промокод: {promocode or _NO_FIGURE}. Спасибо за помощь!"
        )
    return None


def compose_messages(
    role: Role,
    transitions: Sequence[Transition],
    *,
    counterpart_name: str | None,
    results: Mapping[str, Mapping[str, str | None]],
    promocode: str | None,
) -> list[Message]:
    """The reader's messages of one matching, oldest first."""
    messages = []
    for transition in sorted(transitions, key=lambda t: (t.created_at, t.id)):
        text = compose_text(
            role,
            transition.to_status,
            counterpart_name=counterpart_name,
            results_7d=results.get("7d"),
            results_14d=results.get("14d"),
            promocode=promocode,
        )
        if text is not None:
            messages.append(Message(transition.id, text, transition.created_at))
    return messages


def unread_count(messages: Sequence[Message], last_read_at: datetime | None) -> int:
    """Messages newer than the reader's last read mark (all of them before the first read)."""
    if last_read_at is None:
        return len(messages)
    return sum(1 for message in messages if message.created_at > last_read_at)


def whatsapp_link(phone: str | None) -> str | None:
    """`https://wa.me/<digits>` for a phone number; None without a number or digits."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isascii() and ch.isdigit())
    return f"https://wa.me/{digits}" if digits else None


def full_name(first_name: str | None, last_name: str | None) -> str | None:
    name = " ".join(part for part in (first_name, last_name) if part)
    return name or None
