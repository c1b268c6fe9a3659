"""The local S3 server of tests, benchmarks and `make run`: moto's S3, served by waitress.

    python -m quintet_testing.local_s3 --port 9000 [--host 127.0.0.1] [--threads 4]

`python -m moto.server` puts every AWS service behind a dispatcher that works out, request by
request, which service is meant (about half of the server's time on an S3 PUT, profiled with
py-spy: it scans moto's package folders on each request), and serves it on werkzeug's development
server, which closes the connection after every response. This serves moto's S3 application
directly (and its `/moto-api/` beside it: reset, the recorder of `deploy/reset.py`) on waitress,
which keeps connections alive. Same moto, same S3 API and state; from one aioboto3 client with 16
requests in flight, 30 KB objects, on this project's 2-core machine: 418 -> 762 PUT/s and
520 -> 919 GET/s.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Iterable
from typing import Any

import waitress
from moto.server import create_backend_app
from waitress.channel import HTTPChannel

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def s3_app() -> WsgiApp:
    """moto's S3 app, with `/moto-api/...` (moto's own control API) routed to moto's API app."""
    s3 = create_backend_app("s3")
    control = create_backend_app("moto_api")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
            return control(environ, start_response)  # type: ignore[no-any-return]
        return s3(environ, start_response)  # type: ignore[no-any-return]

    return app


def _fix_continue_without_body() -> None:
    """waitress 3.0.2 answers `Expect: 100-continue` with `100 Continue` and then marks the request
    as not received yet, waiting for its body, even when it has none (`Content-Length: 0`): the
    request never runs and the client waits forever. botocore sends that header with every PutObject,
    empty ones too. A request that had nothing more to receive stays received."""
    send_continue = HTTPChannel.send_continue

    def fixed(self: Any) -> None:
        received = self.request.completed and self.request.body_rcv is None
        send_continue(self)
        if received:
            self.request.completed = True

    HTTPChannel.send_continue = fixed  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    # waitress warns whenever requests queue for a thread: the normal state of a busy local server.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    _fix_continue_without_body()
    waitress.serve(
        s3_app(),
        host=args.host,
        port=args.port,
        threads=args.threads,
        connection_limit=1000,
        channel_timeout=120,
        _quiet=True,
    )


if __name__ == "__main__":
    main()
