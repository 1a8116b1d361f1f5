"""What the web app's handlers share, made once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis

from tingle.archive.logs import LogReader
from tingle.builds.admission import Admitter
from tingle.builds.notices import BuildNotices
from tingle.settings import Settings
from tingle.store import BuildStore
from tingle.web.sessions import SessionStore
from tingle.web.signin_limits import SigninLimits


@dataclass
class AppState:
    settings: Settings
    queue: ArqRedis
    store: BuildStore
    notices: BuildNotices
    admitter: Admitter
    sessions: SessionStore
    signin_limits: SigninLimits
    logs: LogReader  # a step's log, live or archived
