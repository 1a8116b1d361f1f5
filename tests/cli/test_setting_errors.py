"""Issue 18, item 5: a setting missing or malformed at start-up is one line on stderr that names
the variable, exit code 2, no traceback; for `tingle serve`, `worker` and `up`, as run.

Before the change each of these printed a Python traceback (exit 1), ending in, say,
"ValueError: invalid literal for int() with base 10: 'http'" with no word of which variable.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.startup import run_tingle

KEY_TEXT = (
    "-----BEGIN RSA PRIVATE KEY-----\nnot-really-a-key-d41d8cd9\n-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("command", "env", "names"),
    [
        (["serve"], {}, "TINGLE_WEBHOOK_SECRET"),
        (["worker"], {"TINGLE_RETENTION": "abc"}, "TINGLE_RETENTION"),
        (["serve"], {"TINGLE_WEBHOOK_SECRET": "s", "TINGLE_RETENTION": "-3d"}, "TINGLE_RETENTION"),
        (["worker"], {"TINGLE_METRICS_PORT": "http"}, "TINGLE_METRICS_PORT"),
        (["worker"], {"TINGLE_METRICS_PORT": "70000"}, "TINGLE_METRICS_PORT"),
        (["worker"], {"TINGLE_WORKER_CONCURRENCY": "0"}, "TINGLE_WORKER_CONCURRENCY"),
        (["worker"], {"TINGLE_STEP_LOG_LIMIT": "64MB"}, "TINGLE_STEP_LOG_LIMIT"),
        (["worker"], {"TINGLE_STEP_CPUS": "nan"}, "TINGLE_STEP_CPUS"),
        (["worker"], {"TINGLE_CLONE_URL_REWRITE": "no-equals-sign"}, "TINGLE_CLONE_URL_REWRITE"),
        (["worker"], {"TINGLE_REGISTRY": "docker.io"}, "TINGLE_AGENT_IMAGE_PREFIX"),
        (["serve"], {"TINGLE_WEBHOOK_SECRET": "s", "TINGLE_PUBLIC_READ": "maybe"},
         "TINGLE_PUBLIC_READ"),
        (["serve"], {"TINGLE_WEBHOOK_SECRET": "s", "TINGLE_LOG_FORMAT": "xml"},
         "TINGLE_LOG_FORMAT"),
        (["serve"], {"TINGLE_ADMIN_TOKEN_FILE": "/nonexistent/admin-token"},
         "TINGLE_ADMIN_TOKEN_FILE"),
        (["up"], {"TINGLE_HTTP_MAX_CONNECTIONS": "lots"}, "TINGLE_HTTP_MAX_CONNECTIONS"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_one_line_naming_it(
    tmp_path: Path, command: list[str], env: dict[str, str], names: str
) -> None:
    args = [*command, "--state-dir", str(tmp_path / "state")] if command == ["up"] else command
    done = run_tingle(args, env, tmp_path)
    assert done.code == 2, done.stderr
    assert len(done.stderr_lines) == 1, done.stderr
    line = done.stderr_lines[0]
    assert line.startswith(f"tingle {command[0]}: {names}: "), line
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_malformed_app_key_is_named_never_quoted(tmp_path: Path) -> None:
    env = {"TINGLE_GITHUB_APP_ID": "12345", "TINGLE_GITHUB_APP_PRIVATE_KEY": KEY_TEXT}
    done = run_tingle(["worker"], env, tmp_path)
    assert done.code == 2
    assert done.stderr_lines == [
        "tingle worker: TINGLE_GITHUB_APP_PRIVATE_KEY: not a PEM-encoded RSA private key"
    ]


def test_a_webhook_secrets_file_that_is_not_json_says_where_not_what(tmp_path: Path) -> None:
    table = tmp_path / "secrets.json"
    table.write_text('{"acme/app": "hunter2-webhook-secret",\n oops}')
    env = {"TINGLE_WEBHOOK_SECRET": "s", "TINGLE_WEBHOOK_SECRETS_FILE": str(table)}
    done = run_tingle(["serve"], env, tmp_path)
    assert done.code == 2
    assert done.stderr_lines == [
        f"tingle serve: TINGLE_WEBHOOK_SECRETS_FILE: {table}: not JSON (line 2)"
    ]


@pytest.mark.parametrize("port", ["abc", "70000", "0"])
def test_a_bad_port_option_is_one_line(tmp_path: Path, port: str) -> None:
    done = run_tingle(["serve", "--port", port], {"TINGLE_WEBHOOK_SECRET": "s"}, tmp_path)
    assert done.code == 2
    assert done.stderr_lines == [
        f"tingle serve: argument --port: expected a port number from 1 to 65535, got '{port}' "
        "(see 'tingle serve --help')"
    ]
