"""The customer card: everything an agent (or the console, or the API) should know of one
customer, live — who they are, what they agreed to, what they look at online and how
they answer campaigns (seed 000's online preference report), their policies and
maturities, the prospect score with its reasons, the product to suggest and the
points to talk about. And finding a customer by name, phone or id for an inbound call.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from automation import clock
from automation.customers.decay import decay, half_life_days, parse_time
from automation.db import session_scope
from automation.delivery.content import preference_report
from automation.models import CONSENT_KINDS, CallTask, Customer, Product, SegmentMember

CONSENT_LABELS = {
    "email": "이메일 e-mail",
    "sms": "문자 SMS",
    "call": "전화 call",
    "ad": "광고성 정보 advertising",
    "night": "야간 광고 night-time ads",
}
KINDS = ("content", "category", "product")
TOP = 5
MATURITY_SOON_DAYS = 60
_DIGITS = re.compile(r"\D")


def customer_card(customer_id: str) -> dict[str, Any] | None:
    """The card of ``customer_id`` (JSON-ready), or None when no such customer."""
    with session_scope() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            return None
        attrs = customer.attributes or {}
        report = preference_report(session, customer)
        held = {p["product_code"] for p in report["policies"] if p["status"] == "active"}
        preferences = {kind: _shares(attrs, kind) for kind in KINDS}
        names = _product_names(session, [s["key"] for s in preferences["product"]])
        for share in preferences["product"]:
            share["name"] = names.get(share["key"])
        suggestion = _suggestion(session, preferences["product"], held)
        tasks = session.exec(
            select(CallTask)
            .where(CallTask.customer_id == customer_id, col(CallTask.status) != "done")
            .order_by(col(CallTask.due_at))
        )
        segments = session.exec(
            select(SegmentMember.segment_id).where(SegmentMember.customer_id == customer_id)
        )
        card = {
            "customer_id": customer.customer_id,
            "profile": _profile(customer),
            "consents": [_consent(customer, kind) for kind in CONSENT_KINDS],
            "report": report,
            "preferences": preferences,
            "preferred_channel": attrs.get("preferred_channel"),
            "prospect": {
                "score": attrs.get("prospect_score", 0),
                "reasons": list(attrs.get("prospect_reasons") or []),
            },
            "suggestion": suggestion,
            "segments": sorted(segments),
            "open_tasks": [
                {"id": t.id, "queue": t.queue, "status": t.status, "claimed_by": t.claimed_by}
                for t in tasks
            ],
        }
        card["talking_points"] = talking_points(card)
        return card


def search_customers(query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Customers whose id, name, e-mail or mobile number matches ``query`` (an id exactly
    first; a phone number by its digits, with or without dashes)."""
    text = query.strip()
    if not text:
        return []
    digits = _DIGITS.sub("", text)
    like = f"%{text.lower()}%"
    clauses = [
        col(Customer.customer_id) == text,
        col(Customer.name).ilike(like),
        col(Customer.email).ilike(like),
    ]
    if len(digits) >= 4:
        # Numbers are stored as entered (010-1234-5678 or 01012345678): match both.
        dashed = f"%{digits[-4:]}%"
        clauses.append(col(Customer.mobile).ilike(dashed))
    with session_scope() as session:
        rows = list(
            session.exec(
                select(Customer).where(or_(*clauses)).order_by(col(Customer.name)).limit(200)
            )
        )
    found = [
        c for c in rows if len(digits) < 4 or c.customer_id == text or _matches(c, text, digits)
    ]
    found.sort(key=lambda c: (c.customer_id != text, c.name or "", c.customer_id))
    return [
        {
            "customer_id": c.customer_id,
            "name": c.name,
            "mobile": c.mobile,
            "email": c.email,
            "lifecycle_stage": c.lifecycle_stage,
        }
        for c in found[:limit]
    ]


def talking_points(card: dict[str, Any]) -> list[str]:
    """What to bring up on the call, from the card's facts, most pressing first."""
    points: list[str] = []
    today = clock.local().date()
    for policy in card["report"]["policies"]:
        maturity = policy.get("maturity_date")
        if policy.get("status") == "active" and maturity:
            days = (date.fromisoformat(maturity) - today).days
            if 0 <= days <= MATURITY_SOON_DAYS:
                points.append(
                    f"계약 {policy['policy_id']}({policy['product_code']}) 만기 D-{days} "
                    f"({maturity}): 만기 후 보장 공백을 막을 상품을 안내하세요"
                )
    suggestion = card["suggestion"]
    if suggestion:
        points.append(f"추천 상품: {suggestion['name']} — {suggestion['reason']}")
    for share in card["preferences"]["content"][:2]:
        points.append(f"관심 콘텐츠 '{share['key']}' (관심도 {round(100 * share['share'])}%)")
    for share in card["preferences"]["category"][:1]:
        points.append(f"관심 분야 '{share['key']}' (관심도 {round(100 * share['share'])}%)")
    responses = card["report"]["responses"]
    if responses:
        said = ", ".join(f"{kind} {n}회" for kind, n in sorted(responses.items()))
        points.append(f"최근 캠페인 반응: {said}")
    consents = {c["kind"]: c["granted"] for c in card["consents"]}
    if not consents.get("ad"):
        points.append("광고성 정보 수신 동의가 없습니다: 상품 권유 전에 동의를 확인하세요")
    if card["prospect"]["score"]:
        points.append(f"가망 점수 {card['prospect']['score']}점")
    return points


def _profile(customer: Customer) -> dict[str, Any]:
    today = clock.local().date()
    age = None
    if customer.birth_date is not None:
        born = customer.birth_date
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return {
        "name": customer.name,
        "email": customer.email,
        "mobile": customer.mobile,
        "gender": customer.gender,
        "age": age,
        "birth_date": customer.birth_date.isoformat() if customer.birth_date else None,
        "occupation": customer.occupation,
        "marital_status": customer.marital_status,
        "has_children": customer.has_children,
        "lifecycle_stage": customer.lifecycle_stage,
        "value_tier": customer.value_tier,
        "activity_status": customer.activity_status,
        "joined_at": _iso(customer.joined_at),
        "last_seen_at": _iso(customer.last_seen_at),
    }


def _consent(customer: Customer, kind: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "label": CONSENT_LABELS.get(kind, kind),
        "granted": bool(getattr(customer, f"{kind}_consent")),
        "at": _iso(getattr(customer, f"{kind}_consent_at")),
        "source": getattr(customer, f"{kind}_consent_source"),
    }


def _shares(attrs: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The customer's ``kind`` preferences now: each key's recency-weighted score decayed
    to now, and its share of them all."""
    entries = (attrs.get("preferences") or {}).get(kind) or {}
    now = clock.now()
    half_life = half_life_days()
    values = {}
    for key, entry in entries.items():
        try:
            elapsed: timedelta = now - parse_time(entry["at"])
            values[key] = float(entry["score"]) * decay(max(elapsed, timedelta(0)), half_life)
        except (KeyError, TypeError, ValueError):
            continue  # a malformed entry (an old import) is not worth failing the card
    total = sum(values.values())
    ranked = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return [
        {"key": key, "score": round(value, 2), "share": value / total if total else 0.0}
        for key, value in ranked
    ]


def _suggestion(
    session: Session, products: list[dict[str, Any]], held: set[str]
) -> dict[str, Any] | None:
    for share in products:
        if share["key"] not in held and share.get("name"):
            reason = f"가장 많이 살펴본 상품 (관심도 {round(100 * share['share'])}%)"
            return {"product_code": share["key"], "name": share["name"], "reason": reason}
    picks = session.exec(
        select(Product).where(col(Product.md_pick).is_(True)).order_by(col(Product.product_code))
    )
    for product in picks:
        if product.product_code not in held:
            return {
                "product_code": product.product_code,
                "name": product.name,
                "reason": "MD 추천 상품 (본 상품 중 가입하지 않은 것이 없음)",
            }
    return None


def _product_names(session: Session, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.exec(select(Product).where(col(Product.product_code).in_(codes)))
    return {p.product_code: p.name for p in rows}


def _matches(customer: Customer, text: str, digits: str) -> bool:
    if digits and customer.mobile and digits in _DIGITS.sub("", customer.mobile):
        return True
    lowered = text.lower()
    return lowered in (customer.name or "").lower() or lowered in (customer.email or "").lower()


def _iso(value: datetime | None) -> str | None:
    return clock.to_utc(value).isoformat() if value is not None else None
