"""The demo's workers on a real broker: separate ``dramatiq`` processes, waited for.

With ``AUTOMATION_BROKER_URL`` set to Redis or RabbitMQ the replay runs as production
does: the demo publishes, and worker processes started here (``python -m dramatiq
automation.worker.actors``, what ``automation worker`` runs) process the events and deliver
the messages. They run on real time and follow the replay's clock through the
messages they take (``replay_clock.py``).

Calling the pool waits until the engine is idle: no event left unprocessed and no
message on its way (``ledger.on_their_way``), both counted in one statement. One look
is enough because every hand-over is one commit: a chunk marks its events processed
in the transaction that stores its messages (stamped offered) and the events it
emits, and a delivery marks a message sent where it stores its ``email_sent``; one
statement sees one snapshot, so it cannot see the event before that commit and the
message after it. The database is the judge, not the broker: RabbitMQ counts only the
messages no worker has taken yet.

Workers take events and deliveries in whatever order their threads run, so the same
seed gives close but not identical numbers here; the embedded default (``pump.py``)
repeats them exactly.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dramatiq import Broker, Message, Middleware
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import DBAPIError

from automation.broker import build_broker
from automation.config import get_settings
from automation.db import get_engine
from automation.delivery.ledger import on_their_way
from automation.demo.errors import DemoError
from automation.models import Event
from automation.worker.actors import use_broker

POLL = 0.01  # seconds between looks at the database
IDLE_TIMEOUT = 120.0  # seconds the engine may stay busy before the demo gives up
STALL_SECONDS = 10.0  # no progress this long: the work waiting is offered again
log = logging.getLogger(__name__)
# A consumer holding all it may (its prefetch) looks again with a growing back-off up
# to the worker timeout (dramatiq's default, 1 s), since a thread finishing a message
# wakes nobody; the replay waits on the workers over a thousand times, and each wait
# crosses the broker two to four times (event, delivery, its email_sent). 10 ms
# against 50: the Redis replay took 201-207 s against 252 s, back to back, when idle
# consumers polled too (they now wait to be woken: ``broker/waking.py``).
WORKER_TIMEOUT_MS = 10


_WAITING = select(func.count()).where(
    Event.processed_at.is_(None),  # type: ignore[union-attr]
    Event.last_error.is_(None),  # type: ignore[union-attr]
)
_BUSY = select(_WAITING.scalar_subquery() + on_their_way().scalar_subquery())


class _Published(Middleware):
    """Counts what this process published (the workers' own publishing is theirs)."""

    def __init__(self) -> None:
        self.count = 0

    def after_enqueue(self, broker: Broker, message: Message[Any], delay: int | None) -> None:
        self.count += 1


class WorkerPool:
    """Worker processes on the configured broker; calling it waits until they are idle."""

    def __init__(self, log_file: Path, processes: int = 2, threads: int = 2) -> None:
        # The demo's own publishing (ingest, jobs) goes to the broker the workers read.
        self.broker = use_broker(build_broker(get_settings().broker_url))
        self._published = _Published()
        self.broker.add_middleware(self._published)
        self._idle_at = -1  # the publish count when the engine was last seen idle
        self.waited = 0.0  # seconds spent waiting on the workers
        self.waits = 0  # times the replay waited (something had been published)
        self.log_file = log_file
        self._log = log_file.open("ab")
        # The demo's settings are in the environment and it works in its own folder
        # (``folder.py``), so the workers write to the demo's outboxes.
        env = os.environ | {"dramatiq_worker_timeout": str(WORKER_TIMEOUT_MS)}
        command = [sys.executable, "-m", "dramatiq", "automation.worker.actors"]
        command += ["--processes", str(processes), "--threads", str(threads)]
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=os.getcwd()
        )
        self.processes = processes
        self._watch: Connection | None = None  # see _busy

    @property
    def failures(self) -> int:
        """Events whose processing raised (the workers log the traceback)."""
        query = select(func.count()).where(Event.last_error.is_not(None))  # type: ignore[union-attr]
        with get_engine().connect() as conn:
            return int(conn.execute(query).scalar_one())

    def __call__(self, reads_next: bool = True) -> None:
        """Wait until every stored event is processed and no message is on its way.

        When the replay's next step does not read what the engine made (``reads_next``
        False: it only posts more of the tick's events), the workers go on while it
        runs, as they do beside a live site; the next call waits for both."""
        if not reads_next or self._published.count == self._idle_at:
            return  # nothing published since the engine was idle: it still is
        began = time.monotonic()
        deadline = began + IDLE_TIMEOUT
        last, changed_at = -1, began
        while True:
            if self.process.poll() is not None:
                raise DemoError(
                    f"the worker processes stopped (exit {self.process.returncode}); "
                    f"see {self.log_file}"
                )
            busy = self._busy()
            now = time.monotonic()
            if not busy:
                break
            if busy != last:
                last, changed_at = busy, now
            elif now - changed_at > STALL_SECONDS:
                self._offer_again()
                changed_at = now
            if now > deadline:
                raise DemoError(f"the workers were still busy after {IDLE_TIMEOUT:.0f} s")
            time.sleep(POLL)
        # Workers publish only while working a message, so the count is final here.
        self._idle_at = self._published.count
        self.waited += time.monotonic() - began
        self.waits += 1

    def _offer_again(self) -> None:
        """Nothing moved for a while: a broker message was lost (a worker killed, a
        flushed queue). The relays offer what waits again, as the scheduler's relay jobs
        would once their grace period passed, which the replay's stopped clock never
        lets happen; processing and delivery skip whatever is already done."""
        from automation.delivery.backlog import relay_messages
        from automation.events.outbox import relay

        log.warning(
            "the engine made no progress for %s s: offering what waits again", STALL_SECONDS
        )
        relay(grace_seconds=0)
        relay_messages(grace_seconds=0)

    def _busy(self) -> int:
        """Events waiting and messages on their way, in one statement: one snapshot.

        On one connection kept for it, in autocommit: the replay looks about ten thousand
        times, and a connection from the pool each time cost a ping and a rollback
        besides the count, on the cores the workers need (profiled: a third of the
        replay's time while it waited)."""
        try:
            return self._count()
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            self._close_watch()  # the database dropped it (a restart): once on a new one
            return self._count()

    def _count(self) -> int:
        if self._watch is None:
            self._watch = get_engine().connect().execution_options(isolation_level="AUTOCOMMIT")
        return int(self._watch.execute(_BUSY).scalar_one())

    def _close_watch(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def close(self) -> None:
        """Stop the workers (SIGTERM: dramatiq finishes the messages in hand)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_watch()
        self._log.close()
        self.broker.close()
