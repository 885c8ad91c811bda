"""Start-up and the event loop: logging in Redis's format, listeners, cron, graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time

from ..config import Config
from .app import Server
from .cron import server_cron

log = logging.getLogger("ember")

LOG_LEVELS = {"debug": logging.DEBUG, "verbose": logging.INFO, "notice": logging.INFO,
           "warning": logging.WARNING, "nothing": logging.CRITICAL + 1}
_MARKS = {logging.DEBUG: ".", logging.INFO: "*", logging.WARNING: "#", logging.ERROR: "#",
          logging.CRITICAL: "#"}


class RedisLogFormatter(logging.Formatter):
    """'pid:M 22 Nov 2026 02:46:41.123 * message', the layout of Redis's log lines."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(record.created))
        millis = int(record.msecs)
        text = f"{os.getpid()}:M {stamp}.{millis:03d} {_MARKS.get(record.levelno, '*')} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def setup_logging(config: Config) -> None:
    logfile = config["logfile"]
    handler: logging.Handler = logging.FileHandler(logfile) if logfile else logging.StreamHandler(sys.stdout)
    handler.setFormatter(RedisLogFormatter())
    root = logging.getLogger("ember")
    root.handlers[:] = [handler]
    root.setLevel(LOG_LEVELS[config["loglevel"]])
    root.propagate = False


def install_event_loop_policy() -> str:
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


async def _cron_loop(server: Server) -> None:
    while True:
        await asyncio.sleep(1.0 / max(server.config["hz"], 1))
        try:
            server_cron(server)
        except Exception:  # cron must keep running whatever one tick does
            log.exception("Error in server cron")


async def _serve(server: Server) -> None:
    from .network import start_listeners

    server.loop = asyncio.get_running_loop()
    await start_listeners(server)
    server.install_signal_handlers()
    cron = asyncio.ensure_future(_cron_loop(server))
    stopped = server.loop.create_future()
    server.on_stop = lambda: stopped.done() or stopped.set_result(None)
    log.info("Ready to accept connections tcp")
    try:
        await stopped
    finally:
        cron.cancel()
        for listener in server.listeners:
            listener.close()
        for client in list(server.clients.values()):
            client.close()


def run_server(config: Config) -> int:
    setup_logging(config)
    loop_kind = install_event_loop_policy()
    server = Server(config)
    log.info("Ember %s (Redis %s compatible) starting, pid=%d, event loop %s",
             server.version, server.redis_version, os.getpid(), loop_kind)
    ignored = config.not_acted_on()
    if ignored:
        log.info("Accepted but not acted on yet: %s", ", ".join(ignored))
    from ..persistence.aof import load_at_startup  # the AOF when appendonly, else the RDB

    if not load_at_startup(server):
        return 1
    try:
        asyncio.run(_serve(server))
    except OSError as err:
        log.warning("%s", err)
        return 1
    except KeyboardInterrupt:
        pass
    log.warning("Ember is now ready to exit, bye bye...")
    return server.exit_code
