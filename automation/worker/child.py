"""One worker process of ``automation worker``: a Dramatiq worker on ``BROKER_URL``.

``python -m automation.worker.child --threads T --prefetch P`` is what the supervisor
(``supervise.py``) starts, once per ``--processes``; ``--after-crash`` when it replaces
one that died. It runs until SIGTERM, then lets its
threads finish the messages they hold; a second SIGTERM ends it at once. SIGINT and
SIGHUP are the supervisor's to handle (a terminal sends them to the whole process
group), and a process whose supervisor is gone stops by itself. It takes at most ``P``
messages per queue at a time, the ones being worked on included: what a process holds
is what waits for redelivery if it dies.

A process that dies between a commit and the publish after it (the events a chunk
emitted, the messages it decided, the ``email_sent`` events of a batch) leaves that work
to the relay job, up to ``RELAY_GRACE_SECONDS`` plus its 30 s period later. So a process
started after a crash relays once itself, a few seconds in (``relay_once.py``):
whatever was published before the crash and is still not done is offered again then.
Offering twice is harmless (a claim takes only what is not done).

Exit status: 0 when stopped, :data:`EXIT_CONFIG` when the code or the settings cannot
be loaded (restarting would not help, so the supervisor gives up).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType

from automation.worker.relay_once import relay_after_crash

EXIT_CONFIG = 2
SHUTDOWN_MS = 30_000  # a chunk takes well under a second; what is left is requeued
LOG_FORMAT = "[%(asctime)s] [PID %(process)d] [%(threadName)s] [%(name)s] %(levelname)s %(message)s"

log = logging.getLogger("automation.worker")


def main(argv: list[str] | None = None) -> int:
    """Run one worker process until told to stop; returns the exit status."""
    parser = argparse.ArgumentParser(prog="automation.worker.child")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--prefetch", type=int, default=0, help="0: as many as threads")
    parser.add_argument("--after-crash", action="store_true", help="replaces a dead process")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    stop = threading.Event()
    _on_signals(stop)
    parent = os.getppid()
    try:
        # Builds the broker from settings and declares the actors on it.
        import automation.worker.actors  # noqa: F401
    except Exception:
        log.exception("worker process: cannot load the actors or the settings")
        return EXIT_CONFIG
    from dramatiq import Worker

    from automation.broker import get_broker

    broker = get_broker()
    broker.emit_after("process_boot")
    worker = Worker(broker, worker_threads=args.threads)
    # Dramatiq's default holds twice the threads per queue; a chunk of 100 events per
    # message is already a lot of work to strand in a process that dies.
    worker.queue_prefetch = args.prefetch or args.threads
    worker.start()
    log.info("worker process ready: %d threads, prefetch %d", args.threads, worker.queue_prefetch)
    if args.after_crash:
        threading.Thread(
            target=relay_after_crash, args=(stop,), name="relay-after-crash", daemon=True
        ).start()
    while not stop.wait(1.0):
        if os.getppid() != parent:
            log.warning("worker process: the supervisor is gone; stopping")
            break
    log.info("worker process stopping: finishing the messages in hand")
    worker.stop(timeout=SHUTDOWN_MS)
    broker.close()
    return 0


def _on_signals(stop: threading.Event) -> None:
    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():  # asked twice: do not wait for the messages in hand
            sys.exit(1)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


if __name__ == "__main__":
    sys.exit(main())
