"""The two ways a build can fail that are not a step's own exit code.

`InfrastructureError`: something other than the build's own code failed (the engine is down, an
image is missing, the checkout failed); GitHub shows `error`. `DeliveryError`: a delivery step
(image build, push, deploy) failed, and says whose fault it was: the repository's (a broken
Dockerfile, an invalid schedule: the step fails, GitHub shows `failure`) or the infrastructure's
(`infrastructure=True`: the registry or the scheduler down). `PathError` is the infrastructure
failing on a path of Tingle's own (workspace, secrets work dir, archive): it names the path.
`SettingError`: the operator's configuration is wrong, so a process refuses to start.
"""

from __future__ import annotations


class InfrastructureError(Exception):
    """Something other than the build's own code failed; the message is shown to users."""


class DeliveryError(Exception):
    """A delivery step failed; the message belongs in the step's log and status."""

    def __init__(self, message: str, *, infrastructure: bool = False) -> None:
        super().__init__(message)
        self.infrastructure = infrastructure


class PathError(InfrastructureError):
    """A file or folder Tingle itself needs could not be used (a permission, a read-only disk, a
    file where a folder should be). The message says what was attempted, on which path, and the
    system's reason, e.g. "cannot make the build's workspace /var/lib/tingle/workspaces/b1:
    permission denied"; an `OSError`'s own text says only the path, or only the reason."""

    def __init__(self, attempted: str, path: object, error: OSError) -> None:
        reason = (error.strerror or type(error).__name__).lower()
        # Where the system refused: `path` itself, or a folder on its way (a relative name was
        # opened in a folder, and says nothing more than `path`).
        failed = "" if error.filename is None else str(error.filename)
        at = f" (at {failed})" if failed.startswith("/") and failed != str(path) else ""
        super().__init__(f"cannot {attempted} {path}: {reason}{at}")
        self.path = str(path)
        self.errno = error.errno


class SettingError(ValueError):
    """A setting (a `TINGLE_*` variable, a command's option) is missing or malformed: the process
    does not start. The message names the variable and what it should be, never its value when
    that may be a secret."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
