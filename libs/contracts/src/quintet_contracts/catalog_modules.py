"""Imports every per-service contracts module so the registry is complete."""

from quintet_contracts import personal_goals, segments  # noqa: F401
