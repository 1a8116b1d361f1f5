"""The blob store on a local folder and on a real S3 API (moto's server on 127.0.0.1, spoken to
by obstore as it speaks to AWS), and what the archiver does when the store is down."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.archive.builds import archiver_now, ended_build
from tingle import metrics
from tingle.archive.blobs import BlobStore
from tingle.archive.logs import LogReader
from tingle.store import BuildStore

S3_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_ALLOW_HTTP": "true"}


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in [*S3_ENV, "AWS_ENDPOINT_URL", "AWS_REGION"]}
    os.environ.update(S3_ENV, AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1")
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
        Bucket="tingle-ci"
    )
    yield "s3://tingle-ci/tingle"
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(params=["folder", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "folder":
        return BlobStore.open(str(tmp_path / "archive"))
    return BlobStore.open(request.getfixturevalue("s3_url"))


async def test_put_get_range_and_delete_a_prefix(blobs: BlobStore) -> None:
    await blobs.put("logs/9/0.log", "héllo\nworld".encode())
    await blobs.put("logs/9/1.log", b"other")
    await blobs.put("logs/90/0.log", b"not under logs/9/")
    assert await blobs.get("logs/9/0.log") == "héllo\nworld".encode()
    assert await blobs.get_range("logs/9/0.log", 7, 5) == b"world"
    assert await blobs.get("logs/9/missing") is None
    assert await blobs.delete_prefix("logs/9/") == 2
    assert await blobs.get("logs/9/0.log") is None
    assert await blobs.get("logs/90/0.log") == b"not under logs/9/"


async def test_an_archived_log_on_s3_or_disk_reads_as_the_live_one(
    store: BuildStore, blobs: BlobStore
) -> None:
    build = await ended_build(store, 1000)
    reader = LogReader(store, blobs)
    live = await (await reader.source(build, 0)).read()
    assert await archiver_now(store, blobs).archive_due() == ["41"]
    archived = await store.get("41")
    assert archived is not None and archived.logs_archived
    source = await reader.source(archived, 0)
    assert await source.read() == live
    assert await source.read_back("+", 3) == list(reversed(live[-3:]))
    assert await source.read(after=live[4].id, count=2) == live[5:7]
    assert not await store.redis.exists(store.log_key("41", 0))


async def test_a_blob_store_that_is_down_keeps_the_log_in_redis_and_retries(
    store: BuildStore, tmp_path: Path, s3_url: str
) -> None:
    build = await ended_build(store, 300)
    unreachable = BlobStore.open("s3://no-such-bucket/tingle")  # the S3 API answers NoSuchBucket
    failures = metrics.ARCHIVE_FAILURES._value.get()
    archiver = archiver_now(store, unreachable)
    assert await archiver.archive_due() == []
    assert metrics.ARCHIVE_FAILURES._value.get() == failures + 1
    record = await store.get(build.id)
    assert record is not None and not record.logs_archived  # readers still read the stream
    assert len(await store.read_log(build.id, 0)) == 3
    assert await archiver.backlog() == 1  # still due, later
    retry_at = await store.redis.zscore(store.key("archive-due"), build.id)
    assert retry_at is not None and retry_at > (build.finished_at or 0) + 30
    # The store is back: the next attempt (once due) moves it.
    await store.redis.zadd(store.key("archive-due"), {build.id: 0})
    good = BlobStore.open(str(tmp_path / "archive"))
    assert await archiver_now(store, good).archive_due() == [build.id]
    index = json.loads(await good.get("logs/41/0.index.json") or b"{}")
    assert [e[0] for e in index["entries"]] == [1, 101, 201]
