"""The one table from this service's exceptions to statuses and error codes (handlers never translate)."""

from quintet_web import ErrorTable
from segments.domain.errors import (
    ReportFailed,
    ReportGone,
    ReportNotFound,
    RuleViolation,
    SegmentExists,
    SegmentsNotFound,
)

ERRORS = ErrorTable(
    {
        RuleViolation: (400, "validation_error"),
        SegmentExists: (409, "segment_exists"),
        SegmentsNotFound: (404, "segment_not_found"),
        ReportNotFound: (404, "report_not_found"),
        ReportFailed: (409, "report_failed"),
        ReportGone: (410, "report_gone"),
    }
)
