"""What the web app's handlers share, made once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis

from tingle.admit import Admitter
from tingle.config import Settings
from tingle.notices import BuildNotices
from tingle.store import BuildStore


@dataclass
class AppState:
    settings: Settings
    queue: ArqRedis
    store: BuildStore
    notices: BuildNotices
    admitter: Admitter
