"""`python -m contractor_mentorship api|worker|migrate`."""

from contractor_mentorship import SERVICE

if __name__ == "__main__":
    raise SystemExit(SERVICE.main())
