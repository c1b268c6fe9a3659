import structlog

from quintet_runtime import PlatformSettings, bind_request_id, configure_logging, current_request_id
from quintet_runtime.cli import run_cli


def test_platform_settings_read_quintet_env_with_local_defaults(monkeypatch):
    assert PlatformSettings().amqp_url == "amqp://guest:guest@127.0.0.1:5672/"
    monkeypatch.setenv("QUINTET_PG_DSN", "postgresql://u@db:5432/x")
    monkeypatch.setenv("QUINTET_ENV", "prod")
    settings = PlatformSettings()
    assert settings.pg_dsn == "postgresql://u@db:5432/x"
    assert settings.json_logs is True


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
