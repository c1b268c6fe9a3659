"""posm: QR table-tent generation from PDF templates."""

SERVICE = "posm"
SCHEMA = "posm"
