"""TINGLE_DEPLOY_BRANCHES: the operator's deploy branches, global or per repository."""

from __future__ import annotations

import pytest

from tingle.settings import Settings


def test_a_repository_s_own_entry_replaces_the_global_one() -> None:
    settings = Settings.from_env(
        {"TINGLE_DEPLOY_BRANCHES": "release/*, hotfix/* ; Acme/Reports:prod,stable/**; octo/x:"}
    )
    assert settings.deploy_branches_for("acme/reports") == ("prod", "stable/**")
    assert settings.deploy_branches_for("ACME/reports") == ("prod", "stable/**")
    assert settings.deploy_branches_for("octo/x") == ()  # its default branch only
    assert settings.deploy_branches_for("octo/y") == ("release/*", "hotfix/*")


def test_unset_means_the_default_branch_only() -> None:
    assert Settings.from_env({}).deploy_branches_for("acme/reports") == ()


@pytest.mark.parametrize("raw", ["acme:main", "a/b/c:main", "main;dev", "a/b:x;A/B:y"])
def test_a_malformed_or_repeated_entry_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="TINGLE_DEPLOY_BRANCHES"):
        Settings.from_env({"TINGLE_DEPLOY_BRANCHES": raw})
