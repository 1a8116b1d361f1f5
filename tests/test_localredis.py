"""The Redis `tingle up` starts when none answers: a real redis-server, stopped on the way out,
its data kept in the state directory for the next start."""

from __future__ import annotations

from pathlib import Path

import redis

from testing.servers import free_port
from tingle.cli.localredis import answers, local_redis

NOBODY = "redis://127.0.0.1:1/0"


def test_started_when_none_answers_stopped_after_and_its_data_kept(tmp_path: Path) -> None:
    port = free_port()
    with local_redis(NOBODY, tmp_path, port) as url:
        assert url == f"redis://127.0.0.1:{port}/0"
        redis.Redis.from_url(url).set("kept", "yes")
    assert not answers(url)  # stopped with `tingle up`
    with local_redis(NOBODY, tmp_path, port) as again:
        assert redis.Redis.from_url(again).get("kept") == b"yes"  # append-only, in the state dir
    assert not answers(again)


def test_a_redis_that_answers_is_used_and_left_running(redis_url: str, tmp_path: Path) -> None:
    with local_redis(redis_url, tmp_path, free_port()) as url:
        assert url == redis_url
    assert answers(redis_url)
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    with local_redis(NOBODY, tmp_path, port) as url:  # someone else's Redis on the port: reused
        assert url == f"redis://127.0.0.1:{port}/0"
    assert answers(redis_url)
    assert not list(tmp_path.iterdir())  # nothing started here
