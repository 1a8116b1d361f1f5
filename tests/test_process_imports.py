"""What each process loads, in a fresh interpreter: the web process makes no GitHub call and runs
no build, so it must not even import PyGithub, Google's auth, the docker SDK or the runtime.
(lint-imports checks the same rule on the source; this checks what really gets loaded, lazy
imports and third-party imports included.)"""

from __future__ import annotations

import json
import subprocess
import sys

# PyJWT and cryptography are not here: redis-py itself loads both (redis.utils, redis.auth.token),
# so the web process cannot avoid them; lint-imports forbids Tingle's web code importing them.
WEB_MUST_NOT_LOAD = (
    "github",
    "docker",
    "google.auth",
    "httpx",
    "tingle.engine",
    "tingle.executor",
    "tingle.worker",
    "tingle.forge.github",
    "tingle.forge.auth",
    "tingle.forge.reporter",
    "tingle.forge.feedback",
)

LOADED = """
import json, sys
{setup}
print(json.dumps(sorted(sys.modules)))
"""


def loaded_after(setup: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", LOADED.format(setup=setup)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return set(modules)


def offending(modules: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))


def test_the_web_app_loads_no_github_client_no_docker_and_no_runtime() -> None:
    modules = loaded_after(
        "from tingle.settings import Settings\n"
        "from tingle.web.app import create_app\n"
        "create_app(Settings(webhook_secret='s'))"
    )
    assert "starlette" in modules  # it did load the app
    assert offending(modules, WEB_MUST_NOT_LOAD) == []


def test_the_check_sees_a_forbidden_module_when_one_is_loaded() -> None:
    """The test above can fail: loading the worker's feedback is caught."""
    modules = loaded_after("import tingle.web.app\nimport tingle.forge.feedback")
    assert "github" in offending(modules, WEB_MUST_NOT_LOAD)


def test_the_build_runner_loads_no_docker_sdk() -> None:
    """The runtime talks to an Engine; only the worker's composition root picks Docker."""
    modules = loaded_after("import tingle.engine.factory\nimport tingle.worker.build_job")
    assert offending(modules, ("docker", "tingle.executor.docker")) == []
