"""The local stack's state, and `make reset` that throws it away.

Where local data lives:
- PostgreSQL: the database of QUINTET_PG_DSN (`quintet` by default), one schema per service (and the
  messaging tables in it); `make run` reuses it across runs.
- S3: when QUINTET_S3_ENDPOINT is not set, the runner starts moto, which keeps everything in memory.
  To keep it across restarts, moto records every request it serves (its recorder: MOTO_ENABLE_RECORDING,
  MOTO_RECORDER_FILEPATH) into `.run/s3/recording.jsonl`, and the runner replays the changes of that
  log (PUT/POST/DELETE, in order) into the fresh server at startup. moto 5 has no other persistence.
  Multipart uploads get new upload ids on replay; the replay maps the recorded ids to the new ones.

`make reset` (`python deploy/reset.py [--force]`): after a confirmation, drops every service schema
(each package's `SERVICE.schema`) in QUINTET_PG_DSN, deletes `.run/s3/`, and deletes every object and
bucket on QUINTET_S3_ENDPOINT when a local S3 answers there. Refuses when QUINTET_ENV=prod.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import re
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64decode
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack_services import ALL_SERVICES, ROOT

DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/quintet"
RECORDING = "recording.jsonl"
_UPLOAD_ID = re.compile(r"<UploadId>([^<]+)</UploadId>")
# Headers not to send again: the transport's own, and the ones the new request recomputes.
_DROPPED_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "expect"}


def state_dir() -> Path:
    return Path(os.environ.get("QUINTET_STATE_DIR", ROOT / ".run"))


def s3_state_dir() -> Path:
    return state_dir() / "s3"


def local_s3_env(folder: Path) -> dict[str, str]:
    """The environment that makes a moto server record what it serves into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return {"MOTO_ENABLE_RECORDING": "1", "MOTO_RECORDER_FILEPATH": str(folder / RECORDING)}


def _send(method: str, url: str, headers: dict[str, str], body: bytes | None) -> bytes:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as error:  # e.g. a delete of what is gone: the log goes on
        return bytes(error.read())


def replay_local_s3(endpoint: str, folder: Path) -> int:
    """Replay the recorded changes (not the reads) into the moto server at `endpoint`; the number of
    requests replayed. Recording is paused meanwhile, so the replay does not record itself again.
    The log is then compacted to the changes alone: reads (most of what moto records) and a line cut
    short by a kill are dropped, so it grows with what was written, not with what was read."""
    log_file = folder / RECORDING
    if not log_file.exists():
        return 0
    _send("POST", f"{endpoint}/moto-api/recorder/stop-recording", {}, b"")
    replayed = 0
    kept: list[str] = []  # the changes' lines, for the compacted log
    new_upload_ids: dict[str, str] = {}  # recorded upload id -> the replay's
    created: dict[str, list[str]] = {}  # path -> upload ids created by the replay, not yet mapped
    try:
        with log_file.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by a kill: the rest is lost
                    break
                method = entry.get("method", "GET")
                if method in ("GET", "HEAD", "OPTIONS"):
                    continue
                kept.append(line if line.endswith("\n") else line + "\n")
                parts = urllib.parse.urlsplit(entry["url"])
                query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
                mapped = []
                for name, value in query:
                    if name == "uploadId" and value not in new_upload_ids and created.get(parts.path):
                        new_upload_ids[value] = created[parts.path].pop(0)
                    mapped.append((name, new_upload_ids.get(value, value) if name == "uploadId" else value))
                url = urllib.parse.urlunsplit(
                    ("", "", parts.path, urllib.parse.urlencode(mapped, safe="/"), "")
                )
                body = entry.get("body") or ""
                data = b64decode(body) if entry.get("body_encoded") else str(body).encode()
                headers = {
                    k: v for k, v in (entry.get("headers") or {}).items() if k.lower() not in _DROPPED_HEADERS
                }
                # urllib would label a body without one as a form, which moto then parses as such.
                if not any(k.lower() == "content-type" for k in headers):
                    headers["Content-Type"] = "application/octet-stream"
                answer = _send(method, endpoint + url, headers, data if method != "DELETE" or data else None)
                if method == "POST" and any(name == "uploads" for name, _ in query):
                    if match := _UPLOAD_ID.search(answer.decode("utf-8", "replace")):
                        created.setdefault(parts.path, []).append(match[1])
                replayed += 1
        compacted = log_file.with_suffix(".compacting")
        compacted.write_text("".join(kept), encoding="utf-8")
        os.replace(compacted, log_file)  # moto opens the file per request: it appends to the new one
    finally:
        _send("POST", f"{endpoint}/moto-api/recorder/start-recording", {}, b"")
    return replayed


# ---- make reset -------------------------------------------------------------------------------


def service_schemas() -> list[str]:
    """Every service's schema (its `SERVICE.schema`), for the services of this checkout."""
    schemas = []
    for service in ALL_SERVICES:
        if service.present:
            schemas.append(importlib.import_module(service.package).SERVICE.schema)
    return schemas


async def drop_schemas(dsn: str, schemas: list[str]) -> list[str]:
    """Drop the schemas that exist in `dsn`; the ones dropped."""
    import asyncpg

    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        existing = {
            row["nspname"]
            for row in await connection.fetch(
                "SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])", schemas
            )
        }
        dropped = [s for s in schemas if s in existing]
        async with connection.transaction():
            for schema in dropped:
                await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        return dropped
    finally:
        await connection.close()


async def empty_s3(endpoint: str, access_key: str, secret_key: str, region: str) -> int:
    """Delete every object and bucket on `endpoint`; the number of buckets removed."""
    from quintet_s3.store import s3_client

    async with s3_client(endpoint, access_key, secret_key, region) as client:
        buckets = [b["Name"] for b in (await client.list_buckets()).get("Buckets", [])]
        for bucket in buckets:
            paginator = client.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=bucket):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    await client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            await client.delete_bucket(Bucket=bucket)
        return len(buckets)


def _is_local(endpoint: str) -> bool:
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    return host in ("127.0.0.1", "localhost", "::1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="drop every service schema and the local S3 state")
    parser.add_argument("--force", action="store_true", help="no confirmation prompt (make reset FORCE=1)")
    args = parser.parse_args(argv)
    if os.environ.get("QUINTET_ENV", "dev") == "prod":
        print("reset: refusing to run with QUINTET_ENV=prod", file=sys.stderr)
        return 2
    dsn = os.environ.get("QUINTET_PG_DSN", DEFAULT_PG_DSN)
    endpoint = os.environ.get("QUINTET_S3_ENDPOINT", "http://127.0.0.1:9000")
    schemas = service_schemas()
    folder = s3_state_dir()
    where = urllib.parse.urlsplit(dsn)
    print(f"This drops the schemas {', '.join(schemas)} in {where.hostname}{where.path},")
    print(f"deletes {folder} and every bucket on {endpoint} (if a local S3 answers there).")
    if not args.force:
        try:
            answer = input("Type 'reset' to go on: ")
        except EOFError:
            answer = ""
        if answer.strip() != "reset":
            print("reset: nothing done")
            return 1
    dropped = asyncio.run(drop_schemas(dsn, schemas))
    print(f"dropped schemas: {', '.join(dropped) or 'none'}")
    if folder.exists():
        shutil.rmtree(folder)
        print(f"deleted {folder}")
    if _is_local(endpoint):
        try:
            removed = asyncio.run(
                empty_s3(
                    endpoint,
                    os.environ.get("QUINTET_S3_ACCESS_KEY", "quintet"),
                    os.environ.get("QUINTET_S3_SECRET_KEY", "quintet-secret"),
                    os.environ.get("QUINTET_S3_REGION", "us-east-1"),
                )
            )
            print(f"deleted {removed} bucket(s) on {endpoint}")
        except Exception as error:
            print(f"no local S3 answering on {endpoint} ({type(error).__name__}): its folder is gone")
    print("done: the next `make run` migrates every service into empty schemas")
    return 0


if __name__ == "__main__":
    sys.exit(main())
