import pytest
import structlog
from pydantic import ValidationError

from quintet_runtime import PlatformSettings, bind_request_id, configure_logging, current_request_id
from quintet_runtime.cli import run_cli


def test_platform_settings_read_quintet_env_with_local_defaults(monkeypatch):
    assert PlatformSettings().amqp_url == "amqp://guest:guest@127.0.0.1:5672/"
    monkeypatch.setenv("QUINTET_PG_DSN", "postgresql://u@db:5432/x")
    monkeypatch.setenv("QUINTET_ENV", "prod")
    monkeypatch.setenv("QUINTET_JWT_SECRET", "a-real-secret-from-the-vault-of-at-least-32-bytes")
    settings = PlatformSettings()
    assert settings.pg_dsn == "postgresql://u@db:5432/x"
    assert settings.json_logs is True


def test_the_development_jwt_secret_is_refused_in_production(monkeypatch):
    monkeypatch.setenv("QUINTET_ENV", "prod")
    with pytest.raises(ValidationError, match="QUINTET_JWT_SECRET"):
        PlatformSettings()


def test_request_id_is_bound_for_log_lines(capsys):
    configure_logging("svc", json=True)
    rid = bind_request_id(None)
    assert current_request_id() == rid
    structlog.get_logger().info("hello")
    line = capsys.readouterr().err
    structlog.reset_defaults()  # the configured logger holds capsys's stream, closed after this test
    assert f'"request_id": "{rid}"' in line and '"service": "svc"' in line


def test_cli_dispatches_the_named_command():
    called = []
    assert run_cli("svc", {"api": lambda: called.append("api"), "worker": lambda: 3}, ["api"]) == 0
    assert run_cli("svc", {"migrate": lambda: 3}, ["migrate"]) == 0  # a count is logged, not an exit status
    assert called == ["api"]


def test_an_empty_jwt_secret_is_refused_at_startup(monkeypatch):
    import pydantic
    import pytest

    monkeypatch.setenv("QUINTET_JWT_SECRET", "")
    with pytest.raises(pydantic.ValidationError, match=r"JWT_SECRET|jwt_secret"):
        PlatformSettings()


def test_a_malformed_incoming_request_id_is_replaced():
    assert bind_request_id("trace-1.2:3_x") == "trace-1.2:3_x"
    for bad in ("r" * 129, "a b", "ab\udcffcd", "x\r\nSet-Cookie: y"):
        replaced = bind_request_id(bad)
        assert replaced != bad and len(replaced) == 32
        assert current_request_id() == replaced
