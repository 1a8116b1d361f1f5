"""Checks out exactly one commit into a fresh directory, with git in a subprocess.

What a webhook said never reaches git as an option or a protocol: the URL is derived from the
configured GitHub and a checked repository name (`tingle.forge.repo_names`), then the operator's
rewrite; here it must still be an https, http or file URL, the sha a full object name, and both
follow `--end-of-options`. Git may speak only that URL's protocol (`protocol.allow=never` for the
rest: no `ext::`, no ssh). The token is never on git's command line, which `ps` shows to every
user of the host: it reaches git in the environment (`GIT_CONFIG_*`), as an `http.extraHeader`
scoped to the URL's host. Git reads no system or user configuration.

A failure says what git said first, not last (`tingle.engine.git_errors`): the last line of a
failed fetch is often advice ("and the repository exists."), the first `fatal:` the cause. The
message goes to the build's reason and GitHub's status, so credentials are cut out of it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import urllib.parse
from pathlib import Path

from tingle.engine.git_errors import cause_line, without_credentials
from tingle.errors import InfrastructureError, PathError

GIT_TIMEOUT_SECONDS = 600
_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1, or SHA-256 object names
_PROTOCOLS = ("https", "http", "file")  # http and file: only through the operator's settings
# Passed on from the worker's environment: how the operator's network reaches GitHub.
_PASSED_ON = (
    "GIT_SSL_CAINFO", "SSL_CERT_FILE", "SSL_CERT_DIR",
    "https_proxy", "HTTPS_PROXY", "http_proxy", "no_proxy", "NO_PROXY",
)  # fmt: skip


class CheckoutError(InfrastructureError):
    pass


async def checkout(url: str, sha: str, dest: Path, *, token: str = "") -> None:
    """Fetch `sha` alone (depth 1) and check it out detached; fall back to a full fetch for servers
    that refuse to serve a commit by its id."""
    scheme = _protocol(url)
    if not _SHA.fullmatch(sha):
        raise CheckoutError(f"not a commit sha: {sha[:80]!r}")
    try:
        await asyncio.to_thread(_fresh_directory, dest)
    except OSError as exc:
        raise PathError("make the build's workspace", dest, exc) from exc
    env = git_environment(url, token)
    secrets = (token, _basic(token)) if token else ()
    only = ["-c", "protocol.allow=never", "-c", f"protocol.{scheme}.allow=always"]
    fetch = [*only, "fetch", "--quiet", "--no-tags"]
    await _git(dest, env, secrets, "init", "--quiet")
    refused: CheckoutError | None = None  # why the commit alone could not be fetched
    try:
        await _git(dest, env, secrets, *fetch, "--depth=1", "--end-of-options", url, sha)
    except CheckoutError as exc:
        refused = exc
        await _git(
            dest, env, secrets, *fetch, "--end-of-options", url,
            "+refs/heads/*:refs/remotes/origin/*", "+refs/pull/*/head:refs/remotes/pull/*",
        )  # fmt: skip
    try:
        # `switch`: git 2.39's `checkout` takes `--end-of-options` for a path.
        await _git(dest, env, secrets, "switch", "--quiet", "--detach", "--end-of-options", sha)
    except CheckoutError as exc:
        why = f" ({refused})" if refused is not None else ""
        raise CheckoutError(f"commit {sha[:12]} not found in {_safe(url)}{why}") from exc


def git_environment(url: str, token: str) -> dict[str, str]:
    """Git's whole environment: no configuration of the host's or a user's, never a prompt, and
    the token (https only) as an Authorization header for the URL's host alone."""
    env = {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/nonexistent",
    }
    env.update({name: os.environ[name] for name in _PASSED_ON if name in os.environ})
    parts = urllib.parse.urlsplit(url)
    if token and parts.scheme == "https":
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0=f"http.https://{parts.netloc}/.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: Basic {_basic(token)}",
        )
    return env


def _basic(token: str) -> str:
    return base64.b64encode(f"x-access-token:{token}".encode()).decode()


def _protocol(url: str) -> str:
    scheme = urllib.parse.urlsplit(url).scheme if "://" in url else ""
    if scheme not in _PROTOCOLS or url.startswith("-"):
        raise CheckoutError(f"refused to fetch from {_safe(url)[:200]!r}: not an https URL")
    return scheme


async def _git(cwd: Path, env: dict[str, str], secrets: tuple[str, ...], *args: str) -> str:
    command = next(arg for arg in args if not arg.startswith("-") and "=" not in arg)
    try:
        process = await asyncio.create_subprocess_exec(
            "git", *args, cwd=cwd, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
    except OSError as exc:  # the workspace went, or is not ours to enter; or no git at all
        raise PathError(f"run git {command} in", cwd, exc) from exc
    try:
        out, err = await asyncio.wait_for(process.communicate(), GIT_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        raise CheckoutError(f"git {command} took longer than {GIT_TIMEOUT_SECONDS}s") from None
    if process.returncode != 0:
        said = cause_line(err.decode(errors="replace"), secrets)
        raise CheckoutError(f"git {command}: {said or f'exit {process.returncode}'}")
    return out.decode()


def _fresh_directory(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def _safe(url: str) -> str:
    """The URL without credentials, for messages."""
    return without_credentials(url, ())
