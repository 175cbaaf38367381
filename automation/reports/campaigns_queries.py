"""The campaign report's SQL: per group of messages, the summed per-message figures.

One SQL statement: the responses are read once through the ``(type, occurred_at)``
index from the period's start and grouped by message, joined to the period's messages,
and summed per group (the requested dimensions plus channel, suppression reason and
call outcome). The rows, the per-channel totals and the overall total are sums of those
few groups, so every message is counted exactly once in each.
"""

from __future__ import annotations

from collections.abc import Iterable
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
from automation.models import CallTask, Enrollment, EnrollmentStatus, Message, MessageStatus
from automation.reports.period import Period
from automation.reports.query import Query

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
RESPONSES = (
    "call_completed",
    "email_bounced",
    "email_clicked",
    "email_opened",
    "sms_delivered",
    "sms_clicked",
    "sms_failed",
    "sms_replied",
    "unsubscribed",
)
UNSPECIFIED = "unspecified"  # a suppressed message without a reason
# The per-message 0/1 figures summed per group (``decided`` is the group's count).
SUMMED = (
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
    the summed per-message figures (``SUMMED``)."""
    per = _per_message(period).subquery("per_message")
    p = per.c
    keys = [p[f"k_{d}"] for d in dims]
    details = [p.channel, p.suppressed_reason, p.call_outcome]
    figures = [
        func.count().label("decided"),
        *(func.sum(p[name]).label(name) for name in SUMMED[1:]),
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
            named("email_clicked", "sms_clicked", bot=False).label("clicked"),
            named("email_opened", bot=True).label("scanner_opened"),
            named("email_clicked", "sms_clicked", bot=True).label("scanner_clicked"),
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
