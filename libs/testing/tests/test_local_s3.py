"""The local S3 server (moto's S3 on waitress) speaks S3 to the platform's own client."""

from __future__ import annotations

import asyncio
import os

from quintet_s3 import s3_client
from quintet_testing.infra import start_moto_server


async def test_objects_of_every_size_go_in_and_come_out_alike() -> None:
    """Empty bodies included: botocore sends `Expect: 100-continue` with every PutObject, and
    waitress used to wait forever for the body of one with `Content-Length: 0`."""
    process, endpoint = await asyncio.to_thread(start_moto_server)
    try:
        async with s3_client(endpoint, "test", "test") as s3:
            await s3.create_bucket(Bucket="local-s3")
            bodies = {"empty": b"", "small": b"x", "large": os.urandom(3 * 1024 * 1024)}
            for key, body in bodies.items():
                await asyncio.wait_for(s3.put_object(Bucket="local-s3", Key=key, Body=body), 30)
            for key, body in bodies.items():
                got = await asyncio.wait_for(s3.get_object(Bucket="local-s3", Key=key), 30)
                assert await got["Body"].read() == body, key
            listed = await s3.list_objects_v2(Bucket="local-s3")
            assert sorted(item["Key"] for item in listed["Contents"]) == sorted(bodies)
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 10)
