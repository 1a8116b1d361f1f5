"""`tingle up`'s Redis: its own on its own port (started, stopped after, its data kept in the
state directory), reused when an earlier `tingle up` left it running, never another program's."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from testing.servers import RedisServer, free_port
from tingle.cli import build_parser
from tingle.cli.localredis import answers, local_redis, shown


def test_started_on_its_own_port_stopped_after_and_its_data_kept(tmp_path: Path) -> None:
    port = free_port()
    with local_redis(tmp_path, port) as chosen:
        assert chosen.address == f"redis://127.0.0.1:{port}/0"
        assert chosen.origin.startswith("started here")
        redis.Redis.from_url(chosen.address).set("kept", "yes")
    assert not answers(chosen.address)  # stopped with `tingle up`
    assert not (tmp_path / "redis.pid").exists()
    with local_redis(tmp_path, port) as again:
        assert redis.Redis.from_url(again.address).get("kept") == b"yes"  # append-only files
    assert not answers(again.address)


def test_the_one_an_earlier_tingle_up_left_running_is_reused(tmp_path: Path) -> None:
    port = free_port()
    with local_redis(tmp_path, port) as first:
        with local_redis(tmp_path, port) as second:
            assert second.address == first.address
            assert second.origin == "reused: started by an earlier tingle up"
        assert answers(first.address)  # the reuser does not stop what it did not start
    assert not answers(first.address)


def test_another_programs_redis_on_its_port_is_refused_and_left_untouched(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    other = redis.Redis.from_url(redis_server.url)
    other.flushall()
    other.set("theirs", "1")
    with (
        pytest.raises(SystemExit, match=f"did not start answers on 127.0.0.1:{redis_server.port}"),
        local_redis(tmp_path, redis_server.port),
    ):
        pass  # pragma: no cover
    assert other.keys() == [b"theirs"]
    assert answers(redis_server.url)  # and still running


def test_by_default_up_never_takes_the_redis_on_6379(tmp_path: Path) -> None:
    args = build_parser().parse_args(["up", "--state-dir", str(tmp_path)])
    assert args.redis_url is None  # TINGLE_REDIS_URL or --redis-url only: see local_up.run
    assert args.redis_port == 6389
    if answers("redis://127.0.0.1:6379/0"):  # someone's, as on most machines: refused, read only
        with pytest.raises(SystemExit, match="--redis-port"), local_redis(tmp_path, 6379):
            pass  # pragma: no cover


def test_a_given_url_is_used_as_is_and_must_answer(redis_url: str, tmp_path: Path) -> None:
    with local_redis(tmp_path, free_port(), given=redis_url) as chosen:
        assert (chosen.address, chosen.origin) == (redis_url, "given")
    assert answers(redis_url)
    assert not list(tmp_path.iterdir())  # nothing started here
    nobody = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    with pytest.raises(SystemExit) as refused, local_redis(tmp_path, free_port(), given=nobody):
        pass  # pragma: no cover
    assert "hunter2" not in str(refused.value)
    assert "***" in str(refused.value)


def test_shown_hides_only_the_password() -> None:
    assert shown("redis://127.0.0.1:6389/0") == "redis://127.0.0.1:6389/0"
    assert shown("redis://user:pw@host:7000/2") == "redis://user:***@host:7000/2"
