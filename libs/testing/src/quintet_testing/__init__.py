"""Test infrastructure shared by every Quintet package (loaded as a pytest plugin)."""

from quintet_testing.infra import DatabaseFactory, free_port, start_moto_server, wait_for_http

__all__ = ["DatabaseFactory", "free_port", "start_moto_server", "wait_for_http"]
