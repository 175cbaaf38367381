"""The harness's world: a database of its own, two small journeys, customers who agreed
to everything, and a stream of sign-ups and purchases through the real ingest.

- ``faults-welcome``: a sign-up gets the welcome e-mail, then a timer at the sign-up's
  ``follow_up_on`` date (long past, so due at once: the scheduler's next tick fires
  it) sends an SMS.
- ``faults-purchase``: a purchase gets the thanks e-mail, once per policy.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from automation import clock
from automation.events.ingest import ingest
from tests.services import PG_ADMIN_URL

WELCOME = """\
journey: faults-welcome
name: fault harness welcome
entry:
  on: signup
  reentry: once
start: thanks
states:
  thanks:
    do:
      - email: welcome
    at: {date: event.follow_up_on, offset: 0d, to: reminder}
  reminder:
    do:
      - sms: product_reminder
    end: true
"""
PURCHASE = """\
journey: faults-purchase
name: fault harness purchase
entry:
  on: policy_purchased
  key: policy_id
  reentry: once
start: thanks
states:
  thanks:
    do:
      - email: first_policy_thanks
    end: true
"""
CUSTOMER_COLUMNS = (
    "customer_id,name,email,mobile,email_consent,sms_consent,ad_consent,night_consent,consent_at"
)


class HarnessDatabase:
    """A PostgreSQL database created for one run, migrated, dropped at the end."""

    def __init__(self) -> None:
        self.name = f"faults_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}"

    def url_for(self, application: str) -> str:
        """The URL with an ``application_name``: whose backends are whose."""
        return f"{self.url}?application_name={application}"

    def create(self) -> None:
        from automation.db.migrate import upgrade

        self._admin(f'CREATE DATABASE "{self.name}"')
        upgrade("head", database_url=self.url)

    def drop(self) -> None:
        from automation import db

        db.engine_for.cache_clear()
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        admin = create_engine(
            PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            conn.execute(text(statement))
        admin.dispose()


def customer_id(i: int) -> str:
    return f"F{i:05d}"


def populate(folder: Path, customers: int) -> None:
    """Publish the two journeys and import ``customers`` customers who agreed to all."""
    from automation.events.imports.importer import import_file
    from automation.journeys.registry import publish_files

    paths = []
    for name, source in (("faults-welcome", WELCOME), ("faults-purchase", PURCHASE)):
        path = folder / f"{name}.yaml"
        path.write_text(source, encoding="utf-8")
        paths.append(path)
    publish_files(paths)
    consent_at = (clock.now() - timedelta(days=1)).isoformat()
    lines = [CUSTOMER_COLUMNS]
    for i in range(customers):
        mobile = f"010-{5000 + i // 10000:04d}-{i % 10000:04d}"
        cid = customer_id(i)
        agreed = ",".join(["true"] * 4)
        lines.append(f"{cid},고객{i},{cid.lower()}@example.com,{mobile},{agreed},{consent_at}")
    csv = folder / "customers.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file("customers", csv)
    assert report.ok == customers and not report.problems, report.problems[:5]


class Stream(threading.Thread):
    """Sign-ups and purchases through ``ingest`` every ``tick`` seconds (and bursts of
    page views on demand), each event recorded under the phase it was accepted in."""

    def __init__(
        self,
        phase: Callable[[], str],
        customers: int,
        signups_per_tick: int = 2,
        purchases_per_tick: int = 1,
        tick: float = 0.25,
    ) -> None:
        super().__init__(name="stream", daemon=True)
        self.phase = phase
        self.customers = customers
        self.signups_per_tick = signups_per_tick
        self.purchases_per_tick = purchases_per_tick
        self.tick = tick
        self.accepted: dict[str, list[str]] = {}
        self.errors: list[str] = []
        self.signed_up = 0
        self.bought = 0
        self.viewed = 0
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=60)

    def run(self) -> None:
        while not self._halt.is_set():
            started = time.monotonic()
            self._ingest(self._batch())
            self._halt.wait(max(0.0, self.tick - (time.monotonic() - started)))

    def burst(self, size: int) -> None:
        """``size`` page views of known visitors in one batch: chunks of work in the
        workers' hands, for a fault to strand."""
        first, self.viewed = self.viewed, self.viewed + size
        visitors = max(1, self.signed_up)
        self._ingest(
            [
                {
                    "event_id": f"view-{i}",
                    "type": "page_view",
                    "visitor_id": f"visitor-{i % visitors}",
                    "properties": {"url": "/products/educare"},
                }
                for i in range(first, first + size)
            ]
        )

    def _ingest(self, batch: list[dict[str, object]]) -> None:
        if not batch:
            return
        try:
            result = ingest(batch)
        except Exception as exc:  # ingest must never fail for a fault elsewhere
            self.errors.append(f"{type(exc).__name__}: {exc}")
            return
        ids = [str(r.event_id) for r in result.results if r.status == "accepted"]
        with self._lock:
            self.accepted.setdefault(self.phase(), []).extend(ids)
        self.errors.extend(f"{r.event_id}: {r.errors}" for r in result.results if r.errors)

    def _batch(self) -> list[dict[str, object]]:
        batch: list[dict[str, object]] = []
        for _ in range(self.signups_per_tick):
            if self.signed_up >= self.customers:
                break
            i, self.signed_up = self.signed_up, self.signed_up + 1
            batch.append(
                {
                    "event_id": f"signup-{i}",
                    "type": "signup",
                    "visitor_id": f"visitor-{i}",
                    "customer_id": customer_id(i),
                    "properties": {"follow_up_on": "2020-01-01"},
                }
            )
        # Customers who signed up a few ticks ago buy one policy each.
        for _ in range(self.purchases_per_tick):
            if self.bought >= self.signed_up - 4 * self.signups_per_tick:
                break
            i, self.bought = self.bought, self.bought + 1
            batch.append(
                {
                    "event_id": f"purchase-{i}",
                    "type": "policy_purchased",
                    "customer_id": customer_id(i),
                    "properties": {"policy_id": f"FP{i:05d}"},
                }
            )
        return batch
