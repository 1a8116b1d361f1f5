"""The two ways a build can fail that are not a step's own exit code.

`InfrastructureError`: something other than the build's own code failed (the engine is down, an
image is missing, the checkout failed); GitHub shows `error`. `DeliveryError`: a delivery step
(image build, push, deploy) failed, and says whose fault it was: the repository's (a broken
Dockerfile, an invalid schedule: the step fails, GitHub shows `failure`) or the infrastructure's
(`infrastructure=True`: the registry or the scheduler down).
"""

from __future__ import annotations


class InfrastructureError(Exception):
    """Something other than the build's own code failed; the message is shown to users."""


class DeliveryError(Exception):
    """A delivery step failed; the message belongs in the step's log and status."""

    def __init__(self, message: str, *, infrastructure: bool = False) -> None:
        super().__init__(message)
        self.infrastructure = infrastructure
