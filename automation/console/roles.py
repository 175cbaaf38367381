"""Which role opens which part of the console, and where each lands after signing in."""

from __future__ import annotations

from enum import StrEnum

from automation.models import Role


class Area(StrEnum):
    """A part of the console, as the navigation shows it."""

    AGENT = "agent"  # /agent: the call queue
    CUSTOMERS = "customers"  # /customers: search and the customer card
    DASHBOARD = "dashboard"  # /dashboard: funnels, journeys, campaigns, the web log
    OPS = "ops"  # /ops/*: journeys, segments, templates


ACCESS: dict[Area, frozenset[Role]] = {
    Area.AGENT: frozenset({Role.AGENT, Role.MANAGER, Role.ADMIN}),
    Area.CUSTOMERS: frozenset(Role),
    Area.DASHBOARD: frozenset({Role.MANAGER, Role.MARKETER, Role.ADMIN}),
    Area.OPS: frozenset({Role.MARKETER, Role.ADMIN}),
}
HOME: dict[Role, str] = {
    Role.AGENT: "/agent",
    Role.MARKETER: "/ops/journeys",
    Role.MANAGER: "/dashboard",
    Role.ADMIN: "/dashboard",
}
# The navigation, in order: (area, path, label).
NAV: tuple[tuple[Area, str, str], ...] = (
    (Area.AGENT, "/agent", "상담 업무 Calls"),
    (Area.CUSTOMERS, "/customers", "고객 조회 Customers"),
    (Area.DASHBOARD, "/dashboard", "대시보드 Dashboard"),
    (Area.OPS, "/ops/journeys", "여정 Journeys"),
    (Area.OPS, "/ops/segments", "세그먼트 Segments"),
    (Area.OPS, "/ops/templates", "템플릿 Templates"),
)
ROLE_LABELS: dict[Role, str] = {
    Role.AGENT: "상담원 agent",
    Role.MARKETER: "마케터 marketer",
    Role.MANAGER: "관리자 manager",
    Role.ADMIN: "운영자 admin",
}


def may_open(role: Role, area: Area) -> bool:
    """Whether ``role`` may open ``area``."""
    return role in ACCESS[area]
