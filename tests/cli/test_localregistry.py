"""`tingle up`'s registry: its own (Debian's docker-registry) on its own port, reused when an
earlier `tingle up` left it running, never something else on that port."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from testing.registry import Registry
from testing.servers import free_port
from tingle.cli.localregistry import answers, local_registry


def test_started_reused_and_stopped_after(tmp_path: Path) -> None:
    port = free_port()
    with local_registry(tmp_path, port) as chosen:
        assert chosen.address == f"127.0.0.1:{port}"
        assert chosen.origin.startswith("started here")
        assert httpx.get(f"http://{chosen.address}/v2/_catalog").json() == {"repositories": []}
        with local_registry(tmp_path, port) as again:
            assert again.origin == "reused: started by an earlier tingle up"
        assert answers(chosen.address)
    assert not answers(chosen.address)
    assert not (tmp_path / "registry" / "registry.pid").exists()


def test_a_registry_it_did_not_start_is_refused(tmp_path: Path) -> None:
    theirs = Registry(tmp_path / "theirs")
    try:
        with (
            pytest.raises(SystemExit, match=r"did not start.*--registry-port"),
            local_registry(tmp_path / "state", theirs.port),
        ):
            pass  # pragma: no cover
        assert answers(theirs.host)
    finally:
        theirs.stop()


def test_tingle_registry_is_used_as_given(tmp_path: Path) -> None:
    with local_registry(tmp_path, free_port(), given="registry.example:5000") as chosen:
        assert (chosen.address, chosen.origin) == ("registry.example:5000", "given")
    assert not list(tmp_path.iterdir())
