"""Which secret a webhook delivery must be signed with. Pure.

With one secret for every repository, whoever holds it (any repository's admin) can sign a delivery
naming another repository, and get that repository's secrets and deploys. So a repository, or an
owner (an organisation, or a GitHub App installed there), may have its own secret
(`TINGLE_WEBHOOK_SECRETS_FILE`): a delivery naming it must be signed with that secret, and the
global one (`TINGLE_WEBHOOK_SECRET`) is then not accepted for it.

The repository a delivery names is read from the body before the signature is checked (it picks
the secret); nothing else of the body is trusted until the signature matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SecretChoice:
    secret: str = ""
    scope: str = "global"  # which entry was used, for logs: "repository acme/app", "owner acme"

    @property
    def is_global(self) -> bool:
        return self.scope == "global"


def claimed_repository(payload: Mapping[str, Any] | None) -> str | None:
    """The repository a delivery says it is for, as `tingle.forge.events` reads it:
    `repository.full_name`, else a pull request's base repository; None when it names none (an
    App's or an organisation's ping) or is not a payload at all."""
    if payload is None:
        return None
    name = _at(payload, "repository", "full_name")
    if name is None:
        name = _at(payload, "pull_request", "base", "repo", "full_name")
    return name


def choose_secret(
    global_secret: str, table: tuple[tuple[str, str], ...], repo: str | None
) -> SecretChoice:
    """The secret `repo`'s deliveries are signed with: its own, else its owner's, else the
    global one. `table` holds lower-case keys (`Settings.webhook_secrets`)."""
    if repo is not None:
        wanted = repo.lower()
        owner = wanted.split("/", 1)[0]
        entries = dict(table)
        if wanted in entries:
            return SecretChoice(entries[wanted], f"repository {wanted}")
        if owner in entries:
            return SecretChoice(entries[owner], f"owner {owner}")
    return SecretChoice(global_secret)


def _at(payload: Mapping[str, Any], *keys: str) -> str | None:
    value: Any = payload
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value if isinstance(value, str) else None
