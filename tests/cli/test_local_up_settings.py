"""What `tingle up` takes from its state directory: the webhook secret and admin token (made once,
0600, then reused; a setting wins), its own servers, and the rewrite to the local copies."""

from __future__ import annotations

import stat
from pathlib import Path

from tingle.cli import state_files
from tingle.cli.local_up import local_settings
from tingle.settings import Settings


def _local(settings: Settings, state_dir: Path, env: dict[str, str] | None = None) -> Settings:
    return local_settings(
        settings,
        env or {},
        state_dir=state_dir,
        listen_url="http://127.0.0.1:9000",
        redis_url="redis://127.0.0.1:6389/0",
        registry="127.0.0.1:5001",
    )


def test_the_admin_token_is_made_once_and_reused(tmp_path: Path) -> None:
    first = _local(Settings(), tmp_path)
    token_file = tmp_path / "admin-token"
    assert len(first.admin_token) == 40
    assert first.admin_token == token_file.read_text()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    again = _local(Settings(), tmp_path)
    assert again.admin_token == first.admin_token
    assert again.webhook_secret == first.webhook_secret != first.admin_token


def test_a_token_from_the_environment_wins_and_nothing_is_written(tmp_path: Path) -> None:
    env = {"TINGLE_ADMIN_TOKEN": "from-env", "TINGLE_WEBHOOK_SECRET": "env-secret"}
    settings = _local(Settings.from_env(env), tmp_path, env)
    assert (settings.admin_token, settings.webhook_secret) == ("from-env", "env-secret")
    assert not list(tmp_path.iterdir())


def test_an_empty_token_file_is_made_again(tmp_path: Path) -> None:
    (tmp_path / "admin-token").write_text("")
    token = state_files.stored_token(tmp_path / "admin-token")
    assert len(token) == 40
    assert state_files.stored_token(tmp_path / "admin-token") == token


def test_its_servers_and_state_and_the_local_copies_rewrite(tmp_path: Path) -> None:
    mirror = ("https://github.com/", "file:///srv/mirror/")
    settings = _local(Settings(clone_url_rewrites=(mirror,)), tmp_path)
    assert settings.redis_url == "redis://127.0.0.1:6389/0"
    assert settings.registry == "127.0.0.1:5001"
    assert settings.public_url == "http://127.0.0.1:9000"
    assert settings.workspace_root == tmp_path / "workspaces"
    assert settings.archive_url == str(tmp_path / "archive")
    copies = (tmp_path / "repos" / "local").as_uri()
    # local/* goes to the copies, before any rewrite of the operator's; everything else as before
    local = settings.rewrite_clone_url("https://github.com/local/app.git")
    assert local == f"{copies}/app.git"
    assert settings.rewrite_clone_url("https://github.com/acme/app.git") == (
        "file:///srv/mirror/acme/app.git"
    )
    assert settings.rewrite_clone_url("https://github.com/localx/app.git").startswith("file:///srv")
