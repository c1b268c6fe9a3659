"""contractor-mentorship: newbie/mentor driver matching with a CRM exchanged through datasets."""

SERVICE = "contractor-mentorship"
SCHEMA = "contractor_mentorship"
