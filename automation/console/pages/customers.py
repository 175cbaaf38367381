"""Finding a customer for an inbound call, and the customer card on its own page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from automation.console.auth import Viewer, for_area
from automation.console.render import page
from automation.console.roles import Area
from automation.reports.card import customer_card, search_customers

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(for_area(Area.CUSTOMERS))]


@router.get("/customers", response_class=HTMLResponse)
def search(
    request: Request, viewer: Reader, q: Annotated[str, Query(max_length=100)] = ""
) -> Response:
    """Search by name, phone number (any 4+ digits of it) or customer id."""
    query = q.replace("\x00", "").strip()
    found = search_customers(query) if query else []
    return page(request, viewer, "customers.html", q=query, found=found, searched=bool(query))


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def card(request: Request, viewer: Reader, customer_id: str) -> Response:
    """The customer card."""
    shown = customer_card(customer_id[:64])
    if shown is None:
        message = f"고객 {customer_id[:64]!r} 을(를) 찾을 수 없습니다 (no such customer)"
        return page(request, viewer, "error.html", status=404, title="Not found", message=message)
    return page(request, viewer, "customer.html", card=shown)
