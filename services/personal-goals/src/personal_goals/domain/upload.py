"""Pure rules of a goals upload: statuses and skip reasons."""

from __future__ import annotations

from typing import Literal

SelectionUploadStatus = Literal["pending", "in_progress", "complete", "failed", "cancelled"]
OverallUploadStatus = Literal["in_progress", "complete", "partially_completed", "failed", "cancelled"]

# Skip reasons decided by the upload (the dataset reader adds `missing_field:<column>`,
# `invalid_json:<column>`, `invalid_timestamp:<column>`, `invalid_text:<column>` (a NUL character,
# which PostgreSQL cannot store) and `too_long:<column>` (an id over MAX_ID_LENGTH)).
REASON_OVERLAP = "overlap"
REASON_DUPLICATE_GOAL_ID = "duplicate_goal_id"
REASON_INVALID_PERIOD = "invalid_period"
# A CSV record or JSONL line that could not be read at all (not JSON, nested too deeply, too many
# fields, not UTF-8).
REASON_UNREADABLE_ROW = "unreadable_row"

# Selection and goal ids are path parameters of the admin and user endpoints: one an upload stores
# must fit there, or it could never be activated or read.
MAX_ID_LENGTH = 256
# Selections one upload may create (each is a row of state and of every status answer).
MAX_SELECTIONS_PER_UPLOAD = 10_000


def selection_status_after(total_rows: int, loaded: int, skipped: int) -> SelectionUploadStatus:
    """A selection is complete once every one of its rows was loaded or skipped."""
    if loaded + skipped >= total_rows:
        return "complete"
    return "in_progress" if loaded + skipped > 0 else "pending"


def overall_status(upload_status: str, skipped_total: int) -> OverallUploadStatus:
    """What the drafts service is told: still running, done cleanly, done with skipped rows, or failed.

    The table-level upload status governs (rows without a selection id belong to no selection)."""
    if upload_status in ("failed", "cancelled"):
        return upload_status  # type: ignore[return-value]
    if upload_status != "complete":
        return "in_progress"
    return "partially_completed" if skipped_total > 0 else "complete"
