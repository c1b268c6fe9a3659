"""`python -m quintet_stand_ins [--host H] [--port P]`: serve every stand-in (default 127.0.0.1:8090)."""

from __future__ import annotations

import argparse
import os

from aiohttp import web

from quintet_stand_ins.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("QUINTET_STAND_INS_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("QUINTET_STAND_INS_PORT", "8090")))
    args = parser.parse_args()
    web.run_app(create_app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
