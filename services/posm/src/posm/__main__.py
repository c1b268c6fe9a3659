"""`python -m posm api|worker|migrate`."""

from posm import SERVICE

raise SystemExit(SERVICE.main())
