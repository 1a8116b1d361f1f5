"""What the web app's handlers share, made once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis

from tingle.builds.admission import Admitter
from tingle.builds.notices import BuildNotices
from tingle.settings import Settings
from tingle.store import BuildStore


@dataclass
class AppState:
    settings: Settings
    queue: ArqRedis
    store: BuildStore
    notices: BuildNotices
    admitter: Admitter
