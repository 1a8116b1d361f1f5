"""The ceiling: a bare starlette endpoint answering 202, served the way `tingle serve` serves Tingle
(one uvicorn process, the same logging set-up).

With `BENCH_REDIS_URL` set, the endpoint also writes each body to a Redis stream before answering:
the floor of any receiver that records a delivery durably before saying 202 (one round trip).

`python -m bench.bare --port P`
"""

from __future__ import annotations

import argparse
import os

import uvicorn
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tingle.logging_setup import configure_logging

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "")
REDIS: Redis | None = Redis.from_url(REDIS_URL) if REDIS_URL else None


async def accept(request: Request) -> Response:
    body = await request.body()
    if REDIS is not None:
        await REDIS.xadd("bench:inbox", {"body": body}, maxlen=10_000, approximate=True)
    return JSONResponse({"result": "queued"}, status_code=202)


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[Route("/webhooks/github", accept, methods=["POST"]), Route("/healthz", healthz)]
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    configure_logging("json")
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
