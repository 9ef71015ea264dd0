"""The one HTTP server of `blkbot run`: a Starlette app, served by uvicorn in the bot's own event loop.

Every platform's webhook (Telegram's today, WhatsApp's next) and later the staff console are routes of
this one app, so a deployment has one port behind one reverse proxy, which terminates TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

HEALTH_PATH = "/healthz"


async def healthz(_request: Request) -> PlainTextResponse:
    """For the proxy's or orchestrator's liveness check: the process answers HTTP."""
    return PlainTextResponse("ok")


def build_app(routes: Sequence[BaseRoute]) -> Starlette:
    """The app: a health check beside the given routes (each channel brings its own)."""
    return Starlette(routes=[Route(HEALTH_PATH, healthz, methods=["GET"]), *routes])


def listen(host: str, port: int) -> socket.socket:
    """Bind and listen before the webhook is registered, so the platform's first call finds us
    (it waits in the backlog until uvicorn accepts it) and a port already taken stops start-up."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(socket.SOMAXCONN)
    except OSError:
        sock.close()
        raise
    return sock


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: `blkbot run` owns SIGINT/SIGTERM and stops the bot,
    the delivery loop and this server together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(app: Starlette, sock: socket.socket, stop: asyncio.Event) -> None:
    """Serve `app` on the listening `sock` until `stop` is set, then finish the calls in flight.

    uvicorn's loggers propagate to blkbot's root handler (log_config=None), so the same filters
    apply; no access log: the reverse proxy keeps one."""
    server = _Server(uvicorn.Config(app, log_config=None, log_level=None, access_log=False, lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopping.cancel()
    await serving


def serve_in_background(app: Starlette, sock: socket.socket, stop: asyncio.Event) -> asyncio.Task[None]:
    """`serve` as a task; a server that fails sets `stop`, so the bot stops rather than going deaf."""
    serving = asyncio.create_task(serve(app, sock, stop))
    serving.add_done_callback(lambda _: stop.set())
    return serving
