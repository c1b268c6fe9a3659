"""Whether a solver task can be imported, and its solution when it can."""

from __future__ import annotations

from vrs_import.domain.errors import TaskNotImportable
from vrs_import.domain.solution import InvalidSolution, Solution, solution_from_answer
from vrs_import.solver.client import SolverClient


async def solved_task(solver: SolverClient, task_id: str, *, max_orders: int) -> Solution:
    """The task's solution; `TaskNotImportable` when it is unknown, not solved yet, failed or empty
    (`SolverUnavailable` when the solver does not answer)."""
    lookup = await solver.task(task_id)
    answer = lookup.answer
    if answer is None:
        raise TaskNotImportable(task_id, "the solver does not know this task")
    if "failed" in answer.status or "cancelled" in answer.status or answer.error is not None:
        raise TaskNotImportable(task_id, "the solver failed to solve it")
    if lookup.http_status == 202 or answer.result is None:
        raise TaskNotImportable(task_id, "it is not solved yet")
    try:
        return solution_from_answer(answer, max_orders=max_orders)
    except InvalidSolution as exc:
        raise TaskNotImportable(task_id, str(exc)) from exc
