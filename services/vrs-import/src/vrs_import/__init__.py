"""vrs-import: asynchronous import of a routing-solver solution into a company's routes and orders."""

SERVICE = "vrs-import"
SCHEMA = "vrs_import"
