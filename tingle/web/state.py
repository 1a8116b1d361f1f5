"""What the web app's handlers share, made once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from arq.connections import ArqRedis

from tingle.archive.logs import LogReader
from tingle.builds.admission import Admitter
from tingle.builds.notices import BuildNotices
from tingle.settings import Settings
from tingle.store import BuildStore
from tingle.web.body_budget import BodyBudget
from tingle.web.sessions import SessionStore
from tingle.web.signin_limits import SigninLimits
from tingle.web.sse_limits import SseLimits

if TYPE_CHECKING:  # it reads records through tingle.web.views, which needs this module
    from tingle.web.log_fanout import LogFanout


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
    live_logs: LogFanout
    # Per process: what it holds for unauthenticated senders and readers (issue 14, item 4).
    webhook_bodies: BodyBudget
    sse_limits: SseLimits
