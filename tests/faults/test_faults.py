"""The fault harness: sign-ups and purchases stream in through the real ingest while
worker processes are SIGKILLed, the broker goes down, the workers' database
connections are cut, the SMTP server goes down and the scheduler leader is killed.
Then, counted at the SMTP server and the SMS gateway: every accepted event processed,
every decided message sent exactly once (or in review with a reason), every due timer
fired once, and each fault recovered from (a table per broker, printed: ``-s`` shows it,
and a failure does).

Bounded in time (about two minutes a broker with ``OUTAGE_SECONDS`` = 10 s;
``FAULTS_OUTAGE_SECONDS=30``, the issue's 30 s broker and 60 s SMTP outages, adds about
a minute), loopback only, on PostgreSQL + Redis (a ``redis-server`` of its own) and PostgreSQL +
RabbitMQ (a vhost of its own behind a proxy it can cut). ``pytest -m faults -s`` runs
it alone; ``make test`` runs it with the rest.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.harness import CUSTOMERS, harness, wait_settled
from tests.faults.scenario import Scenario
from tests.faults.tally import count
from tests.faults.world import Stream

pytestmark = [pytest.mark.faults, pytest.mark.services]

SETTLE_WITHIN = 150.0  # seconds after the last fault: the relay runs every 30 s
KILL_RECOVERED_WITHIN = 20.0  # a killed worker process costs seconds, not a minute


@pytest.mark.parametrize("broker_kind", ["redis", "rabbitmq"])
def test_every_event_and_message_survives_crashes_and_outages(
    broker_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    began = time.monotonic()
    with harness(broker_kind, tmp_path, monkeypatch) as h:
        stream = Stream(lambda: scenario.phase(), CUSTOMERS)
        scenario = Scenario(h.fleet, h.broker, h.smtp, stream.burst)
        stream.start()
        try:
            scenario.run()
        finally:
            stream.stop()
        settle = wait_settled(SETTLE_WITHIN)
        scenario.wait_recovered(timeout=30)
        tally = count(scenario.faults, stream.accepted, h.smtp.received, h.sms.received)
        took = time.monotonic() - began
        settled = "never" if settle is None else f"{settle:.0f}s"
        print(f"\n{broker_kind}: {took:.0f}s in all, settled {settled} after the last fault")
        print(tally.table())
        workers_alive = h.fleet.worker is not None and h.fleet.worker.poll() is None
        workers = len(h.fleet.worker_children())
        leader = h.fleet.leader()

    total = tally.total()
    assert settle is not None, f"not settled {SETTLE_WITHIN:g}s after the faults"
    assert not stream.errors, stream.errors[:5]
    assert total.accepted > 0 and total.processed == total.accepted
    assert tally.unprocessed == 0
    assert total.duplicated == 0 and tally.unknown_keys == 0
    assert not total.other, total.other  # only sent (received once) or in review
    assert total.sent + total.review == total.decided and tally.review_without_reason == 0
    assert tally.timers_due == tally.timers_fired == tally.timer_events > 0
    assert tally.sms_per_enrollment == 1
    for fault in scenario.faults:
        assert fault.recovery is not None, f"{fault.name}: never recovered"
        if fault.name.startswith("worker process kill"):
            assert fault.recovery < KILL_RECOVERED_WITHIN, fault
    assert workers_alive and workers == 2, "the worker supervisor keeps its processes up"
    assert leader is not None
