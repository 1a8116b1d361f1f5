"""The line a failed git command is reported by (tingle.engine.git_errors): its cause, and never
a credential, whatever git or the server it talks to prints."""

from __future__ import annotations

import pytest

from tingle.engine.git_errors import MAX_CHARS, cause_line

TOKEN = "ghs_0123456789abcdef"


@pytest.mark.parametrize(
    ("stderr", "cause"),
    [
        (  # a missing repository over ssh or file: the advice comes last
            "fatal: '/srv/x.git' does not appear to be a git repository\n"
            "fatal: Could not read from remote repository.\n\n"
            "Please make sure you have the correct access rights\nand the repository exists.\n",
            "fatal: '/srv/x.git' does not appear to be a git repository",
        ),
        (  # GitHub's own words come as `remote:` lines before git's
            "remote: Repository not found.\n"
            "fatal: repository 'https://github.com/acme/gone.git/' not found\n",
            "fatal: repository 'https://github.com/acme/gone.git/' not found",
        ),
        (  # an error before the fatal one is noise
            "error: RPC failed; HTTP 500 curl 22 The requested URL returned error: 500\n"
            "fatal: expected flush after ref listing\n",
            "fatal: expected flush after ref listing",
        ),
        (
            "hint: Using 'master' as the name\nerror: pathspec 'x' did not match\n",
            "error: pathspec 'x' did not match",
        ),
        ("warning: redirecting to https://a/\nhint: x\nsomething broke\n", "something broke"),
        ("  \n\n", ""),
        ("", ""),
    ],
)
def test_the_cause_is_the_first_fatal_then_error_then_plain_line(stderr: str, cause: str) -> None:
    assert cause_line(stderr) == cause


@pytest.mark.parametrize(
    "line",
    [
        f"fatal: unable to access 'https://x-access-token:{TOKEN}@mirror.local/a.git/': 403",
        f"fatal: unable to access 'https://{TOKEN}@mirror.local/a.git/': 403",
        f"fatal: could not read Password for 'https://x-access-token:{TOKEN}@mirror.local'",
        f"fatal: Authentication failed for 'HTTP://user:{TOKEN}@mirror.local/a.git/'",
        f"remote: your token {TOKEN} has expired",  # a server echoing what it was sent
    ],
)
def test_no_credential_survives(line: str) -> None:
    said = cause_line(line, (TOKEN,))
    assert TOKEN not in said
    assert "mirror.local" in said or "***" in said  # what is left still says where


def test_a_url_loses_its_user_and_password_even_when_the_secret_is_not_named() -> None:
    said = cause_line("fatal: unable to access 'https://bot:hunter2@git.example/a.git/': 401")
    assert said == "fatal: unable to access 'https://git.example/a.git/': 401"


def test_a_long_line_is_cut_after_the_secret_is_hidden() -> None:
    line = "fatal: " + "x" * (MAX_CHARS - 20) + TOKEN + "y" * 500  # a cut would split it
    said = cause_line(line, (TOKEN,))
    assert len(said) == MAX_CHARS and said.endswith("…")
    assert TOKEN[:8] not in said
