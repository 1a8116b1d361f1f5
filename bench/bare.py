"""The ceiling: a bare starlette endpoint answering 202, served the way `tingle serve` serves Tingle
(one uvicorn process, the same logging set-up, so access lines cost the same).

`python -m bench.bare --port P`
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tingle.logs import configure_logging


async def accept(request: Request) -> Response:
    await request.body()
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
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None)


if __name__ == "__main__":
    main()
