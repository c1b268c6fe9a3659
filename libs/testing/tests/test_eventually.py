"""`eventually` waits for a condition, returns what satisfied it, and fails like an assert."""

import pytest

from quintet_testing import eventually


async def test_returns_the_first_truthy_value_of_a_sync_or_async_check() -> None:
    calls = []

    def sync_check() -> int:
        calls.append(1)
        return len(calls) if len(calls) >= 3 else 0

    async def async_check() -> str:
        return "ready"

    assert await eventually(sync_check, timeout=5) == 3
    assert await eventually(async_check, timeout=5) == "ready"


async def test_retries_while_the_check_raises_assertion_error() -> None:
    attempts = []

    async def check() -> bool:
        attempts.append(1)
        assert len(attempts) > 2, "not yet"
        return True

    assert await eventually(check, timeout=5) is True
    assert len(attempts) == 3


async def test_raises_the_last_assertion_when_time_runs_out() -> None:
    def never() -> None:
        raise AssertionError("still 0 rows")

    with pytest.raises(AssertionError, match="still 0 rows"):
        await eventually(never, timeout=0.1)


async def test_a_falsy_result_at_the_deadline_says_what_it_got() -> None:
    with pytest.raises(AssertionError, match="got \\[\\]"):
        await eventually(lambda: [], timeout=0.1)


async def test_other_exceptions_are_not_swallowed() -> None:
    def broken() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await eventually(broken, timeout=5)
