"""`python -m vrs_import api|worker|migrate`."""

import sys

from quintet_service import service_main
from vrs_import import SCHEMA, SERVICE
from vrs_import.app import create_app
from vrs_import.migrations import MIGRATION_SOURCES
from vrs_import.settings import Settings
from vrs_import.worker import run_worker

if __name__ == "__main__":
    sys.exit(service_main(SERVICE, SCHEMA, MIGRATION_SOURCES, Settings, create_app, run_worker))
