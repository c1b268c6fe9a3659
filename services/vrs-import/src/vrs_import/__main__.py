"""`python -m vrs_import api|worker|migrate`."""

from vrs_import import SERVICE

if __name__ == "__main__":
    raise SystemExit(SERVICE.main())
