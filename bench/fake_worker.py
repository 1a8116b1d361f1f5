"""`python -m bench.fake_worker`: `tingle worker` as an operator starts it (settings from TINGLE_*,
arq, the janitor, the notice follower, feedback to GitHub), but its builds' steps run on the
in-memory engine (testing/fake_engine.py) instead of Docker, so a benchmark can push thousands of
builds through the real worker path on a small machine."""

from __future__ import annotations

import asyncio

from testing.fake_engine import FakeEngine
from tingle.logging_setup import configure_logging
from tingle.settings import Settings
from tingle.worker.arq_worker import run_worker


def main() -> int:
    settings = Settings.from_env()
    configure_logging(settings.log_format)
    asyncio.run(run_worker(settings, engine=FakeEngine()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
