"""`python -m quintet_web.token --scope "segments:read segments:write"`: a development token.

Prints only the token (valid 24 h), signed with QUINTET_JWT_SECRET or the development default.
"""

from __future__ import annotations

import argparse
import os

from quintet_runtime import DEV_JWT_SECRET
from quintet_web.auth import mint_token


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scope", required=True, help="space-separated scopes")
    parser.add_argument("--sub", default="developer")
    parser.add_argument("--companies", default="", help="comma-separated company ids")
    parser.add_argument("--park-id", default="")
    parser.add_argument("--driver-id", default="")
    parser.add_argument("--ttl-seconds", type=int, default=24 * 3600)
    args = parser.parse_args(argv)
    companies = [int(c) for c in args.companies.split(",") if c.strip()]
    print(
        mint_token(
            os.environ.get("QUINTET_JWT_SECRET", DEV_JWT_SECRET),
            sub=args.sub,
            scope=args.scope,
            ttl_seconds=args.ttl_seconds,
            companies=companies,
            park_id=args.park_id or None,
            driver_id=args.driver_id or None,
        )
    )


if __name__ == "__main__":
    main()
