"""`python -m contractor_mentorship api|worker|migrate`."""

import sys

from contractor_mentorship import SCHEMA, SERVICE
from contractor_mentorship.app import create_app
from contractor_mentorship.migrations import MIGRATION_SOURCES
from contractor_mentorship.settings import Settings
from contractor_mentorship.worker import run_worker
from quintet_service import service_main

if __name__ == "__main__":
    sys.exit(service_main(SERVICE, SCHEMA, MIGRATION_SOURCES, Settings, create_app, run_worker))
