"""The replay's shared state, and the HTTP client through which its people reach the API.

Everything people do reaches the engine the way it would in production: the website
posts events to ``POST /v1/events`` with an ingest key, mail clients fetch the
tracking routes, the agent works ``/v1/tasks`` with an agent key.
"""

from __future__ import annotations

import random
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from automation.api import keys
from automation.api.app import create_app
from automation.api.scopes import is_engine_type
from automation.demo.agenda import Agenda
from automation.demo.errors import DemoError
from automation.demo.people import Person
from automation.demo.pump import Pump
from automation.demo.workers import WorkerPool

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def api_client() -> TestClient:
    """The real application, called in-process (no server, no network). Use it as a
    context manager: one event loop serves every request (a new one per request costs
    more than most routes)."""
    with warnings.catch_warnings():
        # starlette nudges towards httpx2 for its TestClient; httpx works as before.
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

        return TestClient(create_app(), raise_server_exceptions=True)


@dataclass
class World:
    """People, their plans and the engine's doors, for one replay."""

    rng: random.Random
    people: list[Person]
    pump: Pump | WorkerPool
    client: TestClient
    agenda: Agenda = field(default_factory=Agenda)
    work_mail: set[str] = field(default_factory=set)  # customers behind a link scanner
    policy_products: dict[str, str] = field(default_factory=dict)  # policy id → product
    maturities: dict[str, date] = field(default_factory=dict)  # maturing policy → its date
    renewed: set[str] = field(default_factory=set)  # policies renewed (once each)
    offers: dict[int, str] = field(default_factory=dict)  # enrollment id → product offered
    did: Counter[str] = field(default_factory=Counter)  # what the people did, by kind
    ingest_key: str = ""
    system_key: str = ""
    agent_key: str = ""

    def __post_init__(self) -> None:
        self.ingest_key = keys.create_key("ingest", "demo-website")
        self.system_key = keys.create_key("system", "demo-core-systems")
        self.agent_key = keys.create_key("agent", "demo-agent")
        self.by_customer = {p.customer_id: p for p in self.people if p.customer_id}

    def person(self, customer_id: str) -> Person | None:
        return self.by_customer.get(customer_id)

    def joined(self, people: list[Person]) -> None:
        """Visitors who just signed up: their messages now find them."""
        self.by_customer.update({p.customer_id: p for p in people if p.customer_id})

    def send_events(self, events: list[dict[str, Any]]) -> None:
        """The website's ``POST /v1/events`` (behaviour, with its ingest key) and the core
        systems' (purchases, renewals, the 080 opt-out line: the engine's facts, with a
        system key), in order, in batches of at most 1,000."""
        for key, run in _runs(events, self.ingest_key, self.system_key):
            for start in range(0, len(run), 1000):
                batch = run[start : start + 1000]
                answer = self.client.post(
                    "/v1/events", json={"events": batch}, headers={"X-API-Key": key}
                )
                if answer.status_code != 202:
                    raise DemoError(f"POST /v1/events answered {answer.status_code}: {answer.text}")
        for e in events:
            if e["type"] in ("policy_purchased", "policy_renewed", "signup"):
                self.did[e["type"]] += 1

    def get(self, path: str, agent: str = BROWSER) -> Any:
        """A browser's (or mail scanner's) GET, without following the redirect."""
        return self.client.get(path, headers={"User-Agent": agent}, follow_redirects=False)

    def agent_call(self, method: str, path: str, **kw: Any) -> Any:
        """The call-center console's request with the agent's key; a refusal is a bug."""
        answer = self.client.request(method, path, headers={"X-API-Key": self.agent_key}, **kw)
        if answer.status_code != 200:
            raise DemoError(f"{method} {path} answered {answer.status_code}: {answer.text}")
        return answer.json()


def _runs(
    events: list[dict[str, Any]], site: str, system: str
) -> list[tuple[str, list[dict[str, Any]]]]:
    """Consecutive events grouped by the key allowed to send them, order kept."""
    runs: list[tuple[str, list[dict[str, Any]]]] = []
    for e in events:
        key = system if is_engine_type(e["type"]) else site
        if runs and runs[-1][0] == key:
            runs[-1][1].append(e)
        else:
            runs.append((key, [e]))
    return runs
