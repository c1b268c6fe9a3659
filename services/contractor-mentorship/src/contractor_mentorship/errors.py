"""Domain exceptions → status and error code, in one table."""

from __future__ import annotations

from contractor_mentorship.domain.errors import (
    DriverNotFound,
    JobRunning,
    MatchingNotFound,
    MentorCannotAccept,
    UnknownJob,
    UpstreamError,
)
from quintet_web import ErrorMapping, ErrorTable

ERRORS = ErrorTable(
    {
        DriverNotFound: (404, "driver_not_found"),
        MatchingNotFound: (404, "matching_not_found"),
        UnknownJob: (404, "unknown_job"),
        MentorCannotAccept: (409, "mentor_cannot_accept"),
        JobRunning: (409, "job_running"),
        UpstreamError: ErrorMapping(503, "upstream_unavailable", retry_after=1),
    }
)
