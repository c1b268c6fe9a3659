"""`python -m segments api|worker|migrate`."""

from segments import SERVICE

raise SystemExit(SERVICE.main())
