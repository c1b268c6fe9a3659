"""`python -m posm api|worker|migrate`."""

import sys

from posm import SCHEMA, SERVICE
from posm.app import create_app
from posm.migrations import MIGRATION_SOURCES
from posm.settings import Settings
from posm.worker import run_worker
from quintet_service import service_main

if __name__ == "__main__":
    sys.exit(service_main(SERVICE, SCHEMA, MIGRATION_SOURCES, Settings, create_app, run_worker))
