"""`python -m personal_goals api|worker|migrate`."""

from personal_goals import SERVICE

raise SystemExit(SERVICE.main())
