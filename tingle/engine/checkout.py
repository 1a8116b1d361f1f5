"""Checks out exactly one commit into a fresh directory, with git in a subprocess."""

from __future__ import annotations

import asyncio
import base64
import shutil
from pathlib import Path

from tingle.errors import InfrastructureError

GIT_TIMEOUT_SECONDS = 600


class CheckoutError(InfrastructureError):
    pass


async def checkout(url: str, sha: str, dest: Path, *, token: str = "") -> None:
    """Fetch `sha` alone (depth 1) and check it out detached; fall back to a full fetch for servers
    that refuse to serve a commit by its id."""
    await asyncio.to_thread(_fresh_directory, dest)
    auth: list[str] = []
    if token and url.startswith("https://"):
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        auth = ["-c", f"http.extraHeader=Authorization: Basic {basic}"]
    await _git(dest, "init", "--quiet")
    try:
        await _git(dest, *auth, "fetch", "--quiet", "--no-tags", "--depth=1", url, sha)
    except CheckoutError:
        await _git(
            dest, *auth, "fetch", "--quiet", "--no-tags", url,
            "+refs/heads/*:refs/remotes/origin/*", "+refs/pull/*/head:refs/remotes/pull/*",
        )  # fmt: skip
    try:
        await _git(dest, "-c", "advice.detachedHead=false", "checkout", "--quiet", sha)
    except CheckoutError as exc:
        raise CheckoutError(f"commit {sha[:12]} not found in {_safe(url)}") from exc


async def _git(cwd: Path, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "git", *args, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(cwd)},
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), GIT_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        raise CheckoutError(f"git {args[0]} took longer than {GIT_TIMEOUT_SECONDS}s") from None
    if process.returncode != 0:
        message = err.decode(errors="replace").strip().splitlines()
        raise CheckoutError(f"git failed: {message[-1] if message else process.returncode}")
    return out.decode()


def _fresh_directory(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def _safe(url: str) -> str:
    """The URL without credentials, for messages."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.split('@', 1)[-1]}" if sep else url
