"""Campaign results: what the journeys decided to send in a period, and what came of it.

Definitions (per message; a row's figure is how many of its messages qualify):

- **decided**: messages created (decided by a journey) inside the period. Everything
  below is about these messages, whenever it happened: responses and conversions up to
  now count, so a message decided on the period's last day is followed to today.
- **sent**: the channel took it: ``sent_at`` is set (``sent``; a call task created), or
  the mail server refused it for good at the send (``bounced``).
- **bounced**: status ``bounced``, or a bounce reported later: an ``email_bounced``
  event, or the SMS gateway's ``sms_failed`` (the carrier's refusal), naming it.
- **delivered**: an ``sms_delivered`` report names it, or it was sent and not bounced
  (a gateway without delivery reports, e-mail, calls).
- **opened** / **clicked**: an ``email_opened`` / ``email_clicked`` names it whose
  ``suspected_bot`` is not ``true``; a mail scanner's pre-fetch is counted apart
  (``scanner_opened`` / ``scanner_clicked``: messages with one) and never as a
  person's. **replied**: an ``sms_replied``. **unsubscribed**: an ``unsubscribed``.
- **converted** (last touch): the message is the ``last_message_id`` of an enrollment
  whose status is ``converted`` (its goal event reached).
- **suppressed**: status ``suppressed``, by the contact policy's ``reason``;
  **deferred**, **failed**, **review** and **waiting** (``queued`` or ``sending``) are
  the messages in that status now.
- **call_outcomes**: call messages by their task's outcome (else the outcome of a
  ``call_completed`` naming the message).
- **rates**: open and click rate = opened / clicked over delivered; conversion rate =
  converted / sent; ``None`` when the denominator is 0. Opens and clicks exist only for
  e-mail, so rows mixing channels have diluted open and click rates.

One SQL statement: the responses are read once through the ``(type, occurred_at)``
index from the period's start and grouped by message, joined to the period's messages,
and summed per group (the requested dimensions plus channel, suppression reason and
call outcome). The rows, the per-channel totals and the overall total are sums of those
few groups, so every message is counted exactly once in each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    String,
    Table,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from automation.conditions import EVENTS
from automation.db import get_engine
from automation.models import CallTask, Enrollment, EnrollmentStatus, Message, MessageStatus
from automation.reports.period import Period
from automation.reports.weblog import Query

MESSAGES: Table = Message.__table__  # type: ignore[attr-defined]
ENROLLMENTS: Table = Enrollment.__table__  # type: ignore[attr-defined]
CALL_TASKS: Table = CallTask.__table__  # type: ignore[attr-defined]
E = EVENTS.c
M = MESSAGES.c
S = MessageStatus

# Report dimension → messages column.
DIMENSIONS = {
    "journey": "journey_id",
    "version": "version_id",
    "state": "state",
    "template": "template",
    "channel": "channel",
}
DEFAULT_BY = ("journey", "template", "channel")
RESPONSES = (
    "call_completed",
    "email_bounced",
    "email_clicked",
    "email_opened",
    "sms_delivered",
    "sms_failed",
    "sms_replied",
    "unsubscribed",
)
UNSPECIFIED = "unspecified"  # a suppressed message without a reason


# --- the report ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Counts:
    """The figures of a set of messages (definitions in the module docstring)."""

    decided: int = 0
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    scanner_opened: int = 0
    scanner_clicked: int = 0
    replied: int = 0
    converted: int = 0
    unsubscribed: int = 0
    bounced: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)  # reason → messages
    deferred: int = 0
    failed: int = 0
    review: int = 0
    waiting: int = 0
    call_outcomes: dict[str, int] = field(default_factory=dict)  # outcome → messages

    @property
    def suppressed_total(self) -> int:
        return sum(self.suppressed.values())

    @property
    def open_rate(self) -> float | None:
        return _rate(self.opened, self.delivered)

    @property
    def click_rate(self) -> float | None:
        return _rate(self.clicked, self.delivered)

    @property
    def conversion_rate(self) -> float | None:
        return _rate(self.converted, self.sent)

    def __add__(self, other: Counts) -> Counts:
        values: dict[str, Any] = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            values[f.name] = _merged(a, b) if isinstance(a, dict) else a + b
        return Counts(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; dictionaries sorted by count (most first), rates to 4 places."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = _ranked(value) if isinstance(value, dict) else value
        out["suppressed_total"] = self.suppressed_total
        for name in ("open_rate", "click_rate", "conversion_rate"):
            rate = getattr(self, name)
            out[name] = None if rate is None else round(rate, 4)
        return out


@dataclass(frozen=True, slots=True)
class CampaignRow:
    """One group of messages: its dimension values and its figures."""

    key: dict[str, str | int | None]  # dimension → value (None: messages without one)
    counts: Counts

    def to_dict(self) -> dict[str, Any]:
        return {**self.key, **self.counts.to_dict()}


@dataclass(frozen=True, slots=True)
class CampaignReport:
    """Campaign results of one period, by the dimensions in ``by``."""

    period: Period
    by: tuple[str, ...]
    rows: list[CampaignRow]
    channels: list[CampaignRow]  # one per channel, whatever ``by`` is
    total: Counts

    @property
    def suppressed_by_reason(self) -> dict[str, int]:
        return self.total.suppressed

    def row(self, **key: str | int | None) -> CampaignRow:
        """The row whose dimensions have these values (for tests and tools)."""
        return next(r for r in self.rows if all(r.key.get(k) == v for k, v in key.items()))

    def channel(self, name: str) -> Counts:
        return next(r.counts for r in self.channels if r.key["channel"] == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.to_dict(),
            "by": list(self.by),
            "rows": [r.to_dict() for r in self.rows],
            "channels": [r.to_dict() for r in self.channels],
            "total": self.total.to_dict(),
            "suppressed_by_reason": _ranked(self.suppressed_by_reason),
        }


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _merged(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, n in b.items():
        out[k] = out.get(k, 0) + n
    return out


def _ranked(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


# --- computing it --------------------------------------------------------------------


def campaign_report(period: Period, by: Sequence[str] = DEFAULT_BY) -> CampaignReport:
    """Campaign results of the messages decided in ``period``, grouped by ``by``.

    Parameters:
        period: the reporting window (messages by ``created_at``).
        by: dimensions among journey, version, state, template, channel (in that order
            in each row); empty for one row of everything.

    Raises:
        ValueError: an unknown dimension.
    """
    dims = dimensions(by)
    with get_engine().begin() as conn:
        rows = conn.execute(campaign_query(period, dims)).all()
    groups: dict[tuple[Any, ...], Counts] = {}
    channels: dict[tuple[Any, ...], Counts] = {}
    total = Counts()
    for row in rows:
        counts = _counts(row)
        key = tuple(getattr(row, f"k_{d}") for d in dims)
        groups[key] = groups.get(key, Counts()) + counts
        channels[(row.channel,)] = channels.get((row.channel,), Counts()) + counts
        total += counts
    return CampaignReport(
        period=period,
        by=dims,
        rows=_rows(dims, groups),
        channels=_rows(("channel",), channels),
        total=total,
    )


def dimensions(by: Sequence[str] | str) -> tuple[str, ...]:
    """``by`` checked and put in the rows' order (journey, version, state, template,
    channel), without repeats.

    Raises:
        ValueError: an unknown dimension.
    """
    names = [by] if isinstance(by, str) else [d.strip() for d in by]
    unknown = [d for d in names if d not in DIMENSIONS]
    if unknown:
        raise ValueError(
            f"cannot group campaigns by {', '.join(map(repr, unknown))}: "
            f"use {', '.join(DIMENSIONS)}"
        )
    return tuple(d for d in DIMENSIONS if d in names)


def _rows(dims: tuple[str, ...], groups: dict[tuple[Any, ...], Counts]) -> list[CampaignRow]:
    # Missing values (a message outside any journey) sort last.
    ordered = sorted(
        groups.items(), key=lambda kv: [(v is None, "" if v is None else v) for v in kv[0]]
    )
    return [CampaignRow(dict(zip(dims, key, strict=True)), counts) for key, counts in ordered]


def _counts(row: Any) -> Counts:
    n = {name: int(getattr(row, name) or 0) for name in _SUMMED}
    # The group's reason and outcome are those of all its messages (they are grouped on).
    suppressed = n.pop("suppressed")
    reasons = {row.suppressed_reason: suppressed} if suppressed else {}
    outcomes = {row.call_outcome: n["decided"]} if row.call_outcome else {}
    return Counts(**n, suppressed=reasons, call_outcomes=outcomes)


_SUMMED = (
    "decided",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "scanner_opened",
    "scanner_clicked",
    "replied",
    "converted",
    "unsubscribed",
    "bounced",
    "suppressed",
    "deferred",
    "failed",
    "review",
    "waiting",
)


def campaign_query(period: Period, dims: Iterable[str]) -> Query:
    """Per group (``k_<dimension>`` columns, channel, suppression reason, call outcome):
    the summed per-message figures (``_SUMMED``)."""
    per = _per_message(period).subquery("per_message")
    p = per.c
    keys = [p[f"k_{d}"] for d in dims]
    details = [p.channel, p.suppressed_reason, p.call_outcome]
    figures = [
        func.count().label("decided"),
        *(func.sum(p[name]).label(name) for name in _SUMMED[1:]),
    ]
    return select(*keys, *details, *figures).group_by(*keys, *details)


def _per_message(period: Period) -> Query:
    """One row per message decided in the period, with its 0/1 figures."""
    responses = _responses(period).subquery("responses")
    r = responses.c
    ct = CALL_TASKS.c
    sent = or_(M.sent_at.is_not(None), M.status == S.BOUNCED.value)
    bounced = or_(M.status == S.BOUNCED.value, r.bounced == 1)
    converted = select(ENROLLMENTS.c.last_message_id).where(
        ENROLLMENTS.c.status == EnrollmentStatus.CONVERTED.value,
        ENROLLMENTS.c.last_message_id.is_not(None),
    )

    def flag(test: ColumnElement[bool]) -> Any:
        return case((test, 1), else_=0)

    def status(*names: str) -> Any:
        return flag(M.status.in_(names))

    return (
        select(
            *(M[column].label(f"k_{d}") for d, column in DIMENSIONS.items()),
            M.channel,
            flag(sent).label("sent"),
            flag(or_(r.sms_delivered == 1, and_(sent, ~func.coalesce(bounced, false())))).label(
                "delivered"
            ),
            flag(r.opened == 1).label("opened"),
            flag(r.clicked == 1).label("clicked"),
            flag(r.scanner_opened == 1).label("scanner_opened"),
            flag(r.scanner_clicked == 1).label("scanner_clicked"),
            flag(r.replied == 1).label("replied"),
            flag(M.id.in_(converted)).label("converted"),
            flag(r.unsubscribed == 1).label("unsubscribed"),
            flag(bounced).label("bounced"),
            status(S.SUPPRESSED.value).label("suppressed"),
            case((M.status == S.SUPPRESSED.value, func.coalesce(M.reason, UNSPECIFIED))).label(
                "suppressed_reason"
            ),
            status(S.DEFERRED.value).label("deferred"),
            status(S.FAILED.value).label("failed"),
            status(S.REVIEW.value).label("review"),
            status(S.QUEUED.value, S.SENDING.value).label("waiting"),
            case((M.channel == "call", func.coalesce(ct.outcome, r.call_outcome))).label(
                "call_outcome"
            ),
        )
        .select_from(
            MESSAGES.outerjoin(responses, cast(M.id, String) == r.message_id).outerjoin(
                CALL_TASKS, ct.message_id == M.id
            )
        )
        .where(M.created_at >= period.start_utc, M.created_at < period.end_utc)
    )


def _responses(period: Period) -> Query:
    """Per message id (as text): which responses name it (0/1 each), and a call outcome.

    Responses to the period's messages come after its start: one range of the
    ``(type, occurred_at)`` index per type. The id is compared as text because event
    properties are free JSON (a number from our routes, perhaps a string from others).
    """
    raw = (
        select(
            cast(E.properties["message_id"].as_string(), String).label("message_id"),
            E.type,
            _JsonTrue(E.properties, "suspected_bot").label("bot"),
            E.properties["outcome"].as_string().label("outcome"),
        )
        .where(E.type.in_(RESPONSES), E.occurred_at >= period.start_utc)
        .subquery("raw")
    )
    x = raw.c

    def named(*types: str, bot: bool | None = None) -> Any:
        test: ColumnElement[bool] = x.type.in_(types)
        if bot is not None:
            test = and_(test, x.bot if bot else ~x.bot)
        return func.max(case((test, 1), else_=0))

    return (
        select(
            x.message_id,
            named("email_opened", bot=False).label("opened"),
            named("email_clicked", bot=False).label("clicked"),
            named("email_opened", bot=True).label("scanner_opened"),
            named("email_clicked", bot=True).label("scanner_clicked"),
            named("sms_replied").label("replied"),
            named("sms_delivered").label("sms_delivered"),
            named("email_bounced", "sms_failed").label("bounced"),
            named("unsubscribed").label("unsubscribed"),
            func.max(case((x.type == "call_completed", x.outcome))).label("call_outcome"),
        )
        .where(x.message_id.is_not(None))
        .group_by(x.message_id)
    )


class _JsonTrue(ColumnElement[bool]):
    """The JSON value at ``key`` is ``true`` (not 1, not "true"); never NULL.

    The engine and the profile skip an event only when ``suspected_bot is True``;
    this is the same test in SQL, where each dialect spells a JSON type differently.
    """

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [  # noqa: RUF012
        ("column", InternalTraversal.dp_clauseelement),
        ("key", InternalTraversal.dp_string),
    ]

    def __init__(self, column: ColumnElement[Any], key: str) -> None:
        self.column, self.key = column, key


@compiles(_JsonTrue)
def _json_true_sqlite(element: _JsonTrue, compiler: SQLCompiler, **kw: Any) -> str:
    kind = func.json_type(element.column, literal(f'$."{element.key}"', String))
    return compiler.process((func.coalesce(kind, "") == "true").self_group(), **kw)


@compiles(_JsonTrue, "postgresql")
def _json_true_pg(element: _JsonTrue, compiler: SQLCompiler, **kw: Any) -> str:
    value = element.column.op("->")(literal(element.key, String))
    test = func.coalesce(value == cast(literal("true"), JSONB), false())
    return compiler.process(test.self_group(), **kw)
