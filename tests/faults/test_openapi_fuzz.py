"""Schemathesis over every route of the app's ``/openapi.json``, in process (ASGI), on
SQLite, with a valid key of each scope: no answer may be a server error (5xx).

Each operation runs with each scope's key, in positive (fits the schema) and negative
(does not) mode. The two routes that read a raw body (``POST /v1/events`` and the SMS
callback) declare none in the schema, so this test adds the shapes they take, built
from the event and report formats, or schemathesis would send them no body at all.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from automation import clock
from automation.api import create_app, keys
from automation.config import reset_settings
from automation.db import session_scope
from automation.db.migrate import upgrade
from automation.events.schema import CORE_TYPES
from automation.models import CallTask, Customer, Message

EXAMPLES = 20  # per operation, scope and mode: about 1,500 cases, under a minute
SCOPES = ("ingest", "system", "agent", "admin")

# Any JSON value, spelled out: an empty schema gave only strings.
ANY = {
    "anyOf": [
        {"type": kind}
        for kind in ("string", "integer", "number", "boolean", "null", "array", "object")
    ]
}
_TEXT = {"anyOf": [{"type": "string", "maxLength": 80}, {"type": "null"}, {"type": "integer"}]}
# A page view as the site sends it, so that some batches are stored whole.
PAGE_VIEW = {
    "type": "object",
    "properties": {
        "event_id": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "^[a-z0-9-]+$"},
        "type": {"const": "page_view"},
        "visitor_id": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "^[a-z]+$"},
        "properties": {
            "type": "object",
            "properties": {"url": {"type": "string"}},
            "required": ["url"],
        },
    },
    "required": ["event_id", "type", "visitor_id", "properties"],
    "additionalProperties": False,
}
ANY_EVENT = {
    "type": "object",
    "properties": {
        "event_id": {"type": "string", "maxLength": 40},
        "type": {"anyOf": [{"enum": sorted(CORE_TYPES)}, {"type": "string", "maxLength": 70}]},
        "occurred_at": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string"}]},
        "visitor_id": _TEXT,
        "customer_id": _TEXT,
        "properties": {"type": "object", "additionalProperties": ANY},
    },
    "required": ["event_id", "type", "visitor_id"],
}
EVENT = {"anyOf": [PAGE_VIEW, ANY_EVENT]}
REPORT = {
    "type": "object",
    "properties": {
        "message_key": {"anyOf": [{"enum": ["sms:1"]}, ANY]},
        "status": {"anyOf": [{"enum": ["delivered", "failed"]}, ANY]},
        "reply": ANY,
        "provider_id": ANY,
        "at": {"anyOf": [{"type": "string", "format": "date-time"}, ANY]},
    },
    "required": ["message_key"],
}
BODIES = {
    ("/v1/events", "post"): {
        "anyOf": [
            EVENT,
            {
                "type": "object",
                "properties": {"events": {"type": "array", "items": EVENT, "maxItems": 5}},
                "required": ["events"],
            },
        ]
    },
    ("/v1/sms/callback", "post"): {
        "anyOf": [
            REPORT,
            {
                "type": "object",
                "properties": {"reports": {"type": "array", "items": REPORT, "maxItems": 5}},
                "required": ["reports"],
            },
        ]
    },
}


def _seed() -> None:
    """A customer with an SMS and a call task, so ids 1 name real rows."""
    with session_scope() as s:
        s.add(Customer(customer_id="C1", mobile="010-1234-5678", sms_consent=True))
        s.flush()
        message = Message(idempotency_key="sms:1", customer_id="C1", channel="sms", journey_id="j")
        s.add(message)
        s.flush()
        s.add(
            CallTask(
                message_id=message.id,
                customer_id="C1",
                queue="retention",
                priority="normal",
                due_at=clock.now(),
                journey_id="j",
            )
        )


def _schema(app: Any) -> Any:
    raw = TestClient(app).get("/openapi.json").json()
    for (path, method), body in BODIES.items():
        raw["paths"][path][method]["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = app
    return schema


def test_no_route_answers_a_server_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/fuzz.db"
    monkeypatch.setenv("AUTOMATION_DATABASE_URL", url)
    monkeypatch.setenv("AUTOMATION_AUTH_FAILURES_PER_MINUTE", "100000")
    reset_settings()
    upgrade("head", database_url=url)
    _seed()
    app = create_app()
    schema = _schema(app)
    headers = {scope: {"X-API-Key": keys.create_key(scope, f"fuzz-{scope}")} for scope in SCOPES}
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name.lower() for p in operation.iter_parameters()}
        # A route without a key parameter takes none: one run is enough.
        scopes = SCOPES if "x-api-key" in names else SCOPES[:1]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for scope in scopes:
                try:
                    _fuzz(operation, mode, scope, headers[scope], statuses, errors)
                except Unsatisfiable:
                    # Nothing to get wrong (no parameter, or only a path string that
                    # takes any text): negative mode has no case to make.
                    assert mode is GenerationMode.NEGATIVE
    elapsed = time.monotonic() - started
    cases = sum(statuses.values())
    print(f"\nschemathesis: {cases} cases in {elapsed:.1f} s, by status {sorted(statuses.items())}")
    assert not errors, "\n".join(errors[:20])
    assert cases > 500


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    scope: str,
    key: dict[str, str],
    statuses: Counter[int],
    errors: list[str],
) -> None:
    """Run ``EXAMPLES`` cases of one operation in one mode with one scope's key."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        # The key replaces whatever header was generated for it.
        case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "x-api-key"}
        response = case.call(headers=key)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            errors.append(
                f"{case.method} {case.formatted_path} ({scope}, {mode.value}): "
                f"{response.status_code} {response.text[:200]}"
            )

    run()
