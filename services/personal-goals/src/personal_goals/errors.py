"""Domain exceptions of personal-goals -> status code + error code (the only place that maps them)."""

from __future__ import annotations

from personal_goals.domain.errors import (
    DatasetInvalid,
    GoalNotFound,
    NoUser,
    ReadingOthersGoalsForbidden,
    SelectionNotFound,
    SelectionsAlreadyUploading,
    UploadFinished,
    UploadNotFound,
)
from quintet_web import ErrorTable

ERRORS = ErrorTable(
    {
        DatasetInvalid: (400, "invalid_dataset"),
        NoUser: (400, "missing_user"),
        ReadingOthersGoalsForbidden: (403, "missing_scope"),
        SelectionNotFound: (404, "selection_not_found"),
        GoalNotFound: (404, "goal_not_found"),
        UploadNotFound: (404, "upload_not_found"),
        SelectionsAlreadyUploading: (409, "upload_already_started"),
        UploadFinished: (409, "upload_finished"),
    }
)
