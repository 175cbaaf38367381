"""Campaign results on hand-built messages and responses whose every count is worked out below."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from automation.db import session_scope
from automation.models import (
    CallTask,
    Customer,
    Enrollment,
    Event,
    Journey,
    JourneyVersion,
    Message,
)
from automation.reports.campaigns import Counts, campaign_report
from automation.reports.period import Period
from tests.journey_world import World

PERIOD = Period(date(2026, 11, 16), date(2026, 11, 22))  # Seoul: 11-15 15:00Z to 11-22 15:00Z
IN = datetime(2026, 11, 18, 1, tzinfo=UTC)  # 10:00 in Seoul, inside the period
BEFORE = datetime(2026, 11, 15, 14, 59, tzinfo=UTC)  # 23:59 in Seoul the day before
AFTER = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # midnight in Seoul after the last day
_ids = itertools.count(1)


def _message(
    n: int,
    template: str | None,
    channel: str,
    status: str = "sent",
    *,
    journey: str = "welcome",
    reason: str | None = None,
    created: datetime = IN,
    sent: bool | None = None,
) -> int:
    """Message m<n> to customer C<n>; ``sent_at`` is set when the status is ``sent``."""
    with session_scope() as s:
        s.add(Customer(customer_id=f"C{n}", name=f"고객{n}"))
        s.flush()
        m = Message(
            idempotency_key=f"m{n}",
            journey_id=journey,
            version_id=1,
            state="s",
            customer_id=f"C{n}",
            channel=channel,
            template=template,
            status=status,
            reason=reason,
            created_at=created,
            sent_at=created + timedelta(minutes=1) if (sent or status == "sent") else None,
        )
        s.add(m)
        s.flush()
        assert m.id is not None
        return m.id


def _response(message_id: int, type_: str, at: datetime | None = None, **props: Any) -> None:
    with session_scope() as s:
        s.add(
            Event(
                event_id=f"r{next(_ids)}",
                type=type_,
                occurred_at=at or IN + timedelta(hours=2),
                received_at=at or IN + timedelta(hours=2),
                customer_id=None,
                properties={"message_id": message_id, "journey_id": "welcome", **props},
            )
        )


def _converted(journey: str, last_message_id: int, status: str = "converted") -> None:
    with session_scope() as s:
        n = next(_ids)
        s.add(Customer(customer_id=f"E{n}", name="전환"))
        s.flush()
        s.add(
            Enrollment(
                journey_id=journey,
                version_id=1 if journey == "welcome" else 2,
                customer_id=f"E{n}",
                state="__converted__",
                status=status,
                entered_at=IN,
                last_message_id=last_message_id,
            )
        )


def _journeys() -> None:
    with session_scope() as s:
        for journey_id in ("welcome", "maturity-retention"):
            s.add(Journey(journey_id=journey_id, name=journey_id))
        s.flush()
        s.add(JourneyVersion(id=1, journey_id="welcome", version=1, checksum="x"))
        s.add(JourneyVersion(id=2, journey_id="maturity-retention", version=1, checksum="y"))


def _seed() -> dict[str, int]:
    """The period's messages; keys name them as the comments below do."""
    _journeys()
    ids: dict[str, int] = {}
    # welcome / welcome / e-mail: 8 decided
    ids["m1"] = _message(1, "welcome", "email")  # opened, clicked by a person; converted
    _response(ids["m1"], "email_opened", suspected_bot=False)
    _response(ids["m1"], "email_clicked", suspected_bot=False, url="https://x")
    _converted("welcome", ids["m1"])
    ids["m2"] = _message(2, "welcome", "email")  # only a mail scanner opened and clicked
    _response(ids["m2"], "email_opened", suspected_bot=True)
    _response(ids["m2"], "email_clicked", suspected_bot=True, bot_reason="too_fast")
    ids["m3"] = _message(3, "welcome", "email", "bounced")  # refused at the send
    ids["m4"] = _message(4, "welcome", "email")  # accepted, bounced later
    _response(ids["m4"], "email_bounced", bounce="hard")
    ids["m5"] = _message(5, "welcome", "email", "suppressed", reason="unsubscribed")
    ids["m6"] = _message(6, "welcome", "email", "suppressed", reason="no_email_consent")
    ids["m7"] = _message(7, "welcome", "email", "deferred", reason="cap_email_day")
    ids["m8"] = _message(8, "welcome", "email")  # opened twice (one message), unsubscribed
    _response(ids["m8"], "email_opened")
    _response(ids["m8"], "email_opened", at=IN + timedelta(days=1))
    _response(ids["m8"], "unsubscribed", channel="email")
    # welcome / welcome_tips / e-mail: 2 decided
    ids["m9"] = _message(9, "welcome_tips", "email", "suppressed", reason="cap_email_week")
    ids["m10"] = _message(10, "welcome_tips", "email")
    _response(ids["m10"], "email_opened", suspected_bot=False)
    # a scanner's click and a person's a minute later: one click, one scanner click
    _response(ids["m10"], "email_clicked", suspected_bot=True)
    _response(ids["m10"], "email_clicked", at=IN + timedelta(hours=3))
    # maturity-retention / retention_sms / SMS: 7 decided
    mr: dict[str, Any] = {"journey": "maturity-retention"}
    ids["m11"] = _message(11, "retention_sms", "sms", **mr)  # delivery report
    _response(ids["m11"], "sms_delivered")
    ids["m12"] = _message(12, "retention_sms", "sms", **mr)  # no report: sent counts
    ids["m13"] = _message(13, "retention_sms", "sms", **mr)  # the carrier refused it
    _response(ids["m13"], "sms_failed")
    ids["m14"] = _message(14, "retention_sms", "sms", "suppressed", reason="no_sms_consent", **mr)
    ids["m15"] = _message(15, "retention_sms", "sms", "suppressed", reason="no_sms_consent", **mr)
    ids["m16"] = _message(16, "retention_sms", "sms", "failed", reason="no_mobile", **mr)
    ids["m17"] = _message(17, "retention_sms", "sms", **mr)  # replied; converted (last touch)
    _response(ids["m17"], "sms_delivered")
    _response(ids["m17"], "sms_replied", reply="네")
    _converted("maturity-retention", ids["m17"])
    # maturity-retention / (no template) / call: 2 decided
    ids["m18"] = _message(18, None, "call", **mr)
    with session_scope() as s:
        s.add(
            CallTask(
                message_id=ids["m18"],
                customer_id="C18",
                queue="retention",
                priority="normal",
                due_at=IN,
                outcome="reached",
                status="done",
            )
        )
    ids["m19"] = _message(19, None, "call", "queued", **mr)
    # outside the period: neither they nor their responses count
    ids["m20"] = _message(20, "welcome", "email", created=BEFORE)
    _response(ids["m20"], "email_opened", at=IN)
    _converted("welcome", ids["m20"])
    ids["m21"] = _message(21, "welcome", "email", created=AFTER)
    _response(ids["m21"], "email_clicked", at=AFTER + timedelta(hours=1))
    # an enrollment still active whose last message is m10: not a conversion
    _converted("welcome", ids["m10"], status="active")
    return ids


WELCOME_EMAIL = Counts(
    decided=8,
    sent=5,  # m1 m2 m3 m4 m8
    delivered=3,  # m1 m2 m8
    opened=2,  # m1 m8
    clicked=1,  # m1
    scanner_opened=1,  # m2
    scanner_clicked=1,  # m2
    converted=1,  # m1
    unsubscribed=1,  # m8
    bounced=2,  # m3 m4
    suppressed={"unsubscribed": 1, "no_email_consent": 1},
    deferred=1,  # m7
)
TIPS_EMAIL = Counts(
    decided=2,
    sent=1,
    delivered=1,
    opened=1,
    clicked=1,
    scanner_clicked=1,
    suppressed={"cap_email_week": 1},
)
RETENTION_SMS = Counts(
    decided=7,
    sent=4,  # m11 m12 m13 m17
    delivered=3,  # m11 m12 m17
    replied=1,
    converted=1,
    bounced=1,  # m13
    suppressed={"no_sms_consent": 2},
    failed=1,
)
RETENTION_CALL = Counts(decided=2, sent=1, delivered=1, waiting=1, call_outcomes={"reached": 1})


def test_rows_by_journey_template_and_channel(database: str) -> None:
    _seed()
    report = campaign_report(PERIOD)
    assert report.by == ("journey", "template", "channel")
    assert [(r.key, r.counts) for r in report.rows] == [
        ({"journey": "maturity-retention", "template": "retention_sms", "channel": "sms"},
         RETENTION_SMS),
        ({"journey": "maturity-retention", "template": None, "channel": "call"}, RETENTION_CALL),
        ({"journey": "welcome", "template": "welcome", "channel": "email"}, WELCOME_EMAIL),
        ({"journey": "welcome", "template": "welcome_tips", "channel": "email"}, TIPS_EMAIL),
    ]  # fmt: skip


def test_rates(database: str) -> None:
    _seed()
    row = campaign_report(PERIOD).row(journey="welcome", template="welcome").counts
    assert (row.open_rate, row.click_rate, row.conversion_rate) == (2 / 3, 1 / 3, 1 / 5)
    sms = campaign_report(PERIOD).row(channel="sms").to_dict()
    assert sms["open_rate"] == 0.0
    assert sms["conversion_rate"] == 0.25
    assert sms["suppressed_total"] == 2


def test_a_scanner_click_is_not_a_click(database: str) -> None:
    ids = _seed()
    report = campaign_report(PERIOD, by=("template",))
    welcome = report.row(template="welcome").counts
    # m2's only open and click were a scanner's: counted apart, never as a person's
    assert (welcome.opened, welcome.clicked) == (2, 1)
    assert (welcome.scanner_opened, welcome.scanner_clicked) == (1, 1)
    assert ids["m2"] not in (ids["m1"], ids["m8"])


def test_suppressions_by_reason(database: str) -> None:
    _seed()
    report = campaign_report(PERIOD)
    assert report.suppressed_by_reason == {
        "no_sms_consent": 2,
        "unsubscribed": 1,
        "no_email_consent": 1,
        "cap_email_week": 1,
    }
    assert list(report.to_dict()["suppressed_by_reason"].items()) == [
        ("no_sms_consent", 2),
        ("cap_email_week", 1),
        ("no_email_consent", 1),
        ("unsubscribed", 1),
    ]


def test_last_touch_conversion(database: str) -> None:
    _seed()
    report = campaign_report(PERIOD)
    # m1 and m17 end converted enrollments; m10's enrollment is still active, and m20
    # converted but was decided before the period
    assert report.total.converted == 2
    assert report.row(template="welcome").counts.converted == 1
    assert report.row(template="welcome_tips").counts.converted == 0


def test_channel_totals_and_total(database: str) -> None:
    _seed()
    report = campaign_report(PERIOD, by=())
    assert [r.key for r in report.rows] == [{}]
    assert report.channel("email") == WELCOME_EMAIL + TIPS_EMAIL
    assert report.channel("sms") == RETENTION_SMS
    assert report.channel("call") == RETENTION_CALL
    assert report.total == WELCOME_EMAIL + TIPS_EMAIL + RETENTION_SMS + RETENTION_CALL
    assert report.total.decided == 19
    assert [r.key["channel"] for r in report.channels] == ["call", "email", "sms"]


def test_to_dict_shape(database: str) -> None:
    _seed()
    data = campaign_report(PERIOD, by=["channel"]).to_dict()
    assert data["period"]["from"] == "2026-11-16"
    assert data["by"] == ["channel"]
    email = data["rows"][1]
    assert email["channel"] == "email"
    assert email["decided"] == 10
    assert email["open_rate"] == round(3 / 4, 4)
    assert email["suppressed"] == {"cap_email_week": 1, "no_email_consent": 1, "unsubscribed": 1}
    assert data["total"]["call_outcomes"] == {"reached": 1}


def test_an_unknown_dimension_is_refused(database: str) -> None:
    with pytest.raises(ValueError, match="cannot group campaigns by 'segment'"):
        campaign_report(PERIOD, by=("journey", "segment"))


def test_an_empty_period(database: str) -> None:
    report = campaign_report(PERIOD)
    assert report.rows == []
    assert report.total == Counts()
    assert report.to_dict()["total"]["open_rate"] is None


def test_messages_the_engine_decided(database: str) -> None:
    """The real engine: a sign-up enters the welcome journey (and the conversion ladder);
    each decides e-mails that wait for delivery (no worker runs here)."""
    world = World()
    world.customer("C1")
    world.send("signup")
    world.after(days=3)  # the tips e-mail
    today = world.enrollment("welcome").entered_at
    assert today is not None
    report = campaign_report(Period.of(today.date(), today.date() + timedelta(days=3)))
    rows = [
        (r.key["journey"], r.key["template"], r.counts.decided, r.counts.waiting)
        for r in report.rows
    ]
    assert rows == [
        ("conversion-ladder", "product_recommendation", 1, 1),
        ("welcome", "welcome", 1, 1),
        ("welcome", "welcome_tips", 1, 1),
    ]
