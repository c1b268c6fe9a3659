"""personal-goals: admin upload of personal goals from datasets, selections, goal reads."""

SERVICE = "personal-goals"
SCHEMA = "personal_goals"
