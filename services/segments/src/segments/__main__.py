"""`python -m segments api|worker|migrate`."""

import sys

from quintet_service import service_main
from segments import SCHEMA, SERVICE
from segments.app import create_app
from segments.migrations import MIGRATION_SOURCES
from segments.settings import Settings
from segments.worker import run_worker

if __name__ == "__main__":
    sys.exit(service_main(SERVICE, SCHEMA, MIGRATION_SOURCES, Settings, create_app, run_worker))
