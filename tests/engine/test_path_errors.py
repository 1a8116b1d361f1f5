"""Issue 18, item 5: in a build, a path Tingle cannot use is named, with what was attempted, in
the build's reason (GitHub `error`: the infrastructure's fault, not the code's).

Before the change each of these ended the build "internal error: PermissionError" (or
NotADirectoryError), or "Docker engine unreachable: [Errno 13] ..." for the workspace root.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo
from testing.unprivileged import held_to_file_modes
from tests.engine.conftest import MakeRunner
from tests.engine.helpers import a_build, build_info, step
from tingle.build import BuildState
from tingle.engine.runner import git_fetch
from tingle.errors import PathError
from tingle.executor.workspace_mount import confine_root
from tingle.secrets import DirectorySecretStore, prepare_step_secrets


@pytest.fixture
def blocker(tmp_path: Path) -> Path:
    """A file where a folder should be: no mode, uid or capability lets anyone make one below."""
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    return path


async def test_a_workspace_that_cannot_be_made_ends_the_build_naming_it(
    runner: MakeRunner, tmp_path: Path, blocker: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    sha = repo.commit({"build-info.yaml": build_info(step("hi", "echo hi"))})
    build = a_build(sha=sha)
    await runner(workspace_root=blocker / "workspaces").run(build, git_fetch(repo.url, sha))
    assert build.state is BuildState.ERROR
    workspace = blocker / "workspaces" / build.id
    assert build.reason == f"cannot make the build's workspace {workspace}: not a directory"


async def test_secret_files_that_cannot_be_written_are_named(tmp_path: Path, blocker: Path) -> None:
    store_root = tmp_path / "secrets"
    (store_root / "acme" / "app").mkdir(parents=True)
    (store_root / "acme" / "app" / "token").write_text("s3cr3t\n")
    build_dir = blocker / "build-secrets" / "b1"
    with pytest.raises(PathError) as failure:
        await prepare_step_secrets(
            DirectorySecretStore(store_root), "acme/app", ["token"], build_dir, "0"
        )
    assert str(failure.value) == (
        f"cannot write the step's secret files in {build_dir / '0'}: not a directory "
        f"(at {blocker / 'build-secrets'})"
    )
    assert "s3cr3t" not in str(failure.value)


def test_a_workspace_root_that_cannot_be_made_is_named(blocker: Path) -> None:
    with pytest.raises(PathError) as failure:
        confine_root(blocker / "root", mount=False)
    assert str(failure.value) == (
        f"cannot make the workspace root (mode 0700) {blocker / 'root'}: not a directory"
    )


READ = """
import sys
from pathlib import Path
from tingle.errors import PathError
from tingle.workspace_files import read_workspace_file
try:
    read_workspace_file(Path(sys.argv[1]), "build-info.yaml")
except PathError as exc:
    print(exc)
"""


def test_a_checkout_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "build-info.yaml").write_text("version: 2\n")
    (workspace / "build-info.yaml").chmod(0o000)
    done = subprocess.run(
        held_to_file_modes([sys.executable, "-c", READ, str(workspace)]),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == (
        f"cannot read the checkout's file {workspace / 'build-info.yaml'}: permission denied"
    )
