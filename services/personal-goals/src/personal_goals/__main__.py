"""`python -m personal_goals api|worker|migrate`."""

import sys

from personal_goals import SCHEMA, SERVICE
from personal_goals.app import create_app
from personal_goals.migrations import MIGRATION_SOURCES
from personal_goals.settings import Settings
from personal_goals.worker import run_worker
from quintet_service import service_main

if __name__ == "__main__":
    sys.exit(service_main(SERVICE, SCHEMA, MIGRATION_SOURCES, Settings, create_app, run_worker))
