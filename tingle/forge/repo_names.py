"""Repository full names, checked strictly, and the clone URL derived from one. Pure.

A webhook payload names a repository; the signature proves the payload came through a webhook, not
that the repository it names sent it. So the name is checked against what GitHub allows, and the
code is fetched from `<configured GitHub>/<owner>/<name>.git`: never from a URL in the payload, so
the repository whose secrets a build gets is the repository whose code it runs.
"""

from __future__ import annotations

import re

# Owners: letters, digits and hyphens, not starting with a hyphen (underscores: Enterprise
# Managed Users' `name_shortcode`). Repositories: letters, digits, '.', '-', '_'; not '.' or '..'.
_OWNER = r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}"
_NAME = r"[A-Za-z0-9._-]{1,100}"
_FULL_NAME = re.compile(rf"(?P<owner>{_OWNER})/(?P<name>{_NAME})")


def is_full_name(value: str) -> bool:
    """Whether `value` is a repository full name GitHub could have made ("owner/name")."""
    match = _FULL_NAME.fullmatch(value)
    return match is not None and match["name"] not in (".", "..")


def clone_url(github_url: str, full_name: str) -> str:
    """Where `full_name`'s code is on the configured GitHub (`https://github.com`, or an
    Enterprise host); the operator's mirror rewrite applies to this URL."""
    if not is_full_name(full_name):
        raise ValueError(f"not a repository full name: {full_name[:100]!r}")
    return f"{github_url.rstrip('/')}/{full_name}.git"
