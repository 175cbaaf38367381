"""The message templates, and the check that a journey's templates can be sent.

Files live under ``TEMPLATES_DIR``, one folder per channel that has templates:
``email/<name>.html`` and ``email/<name>.txt`` (rendered by ``email_template.py``),
``sms/<name>.txt`` (``sms_template.py``); both render in ``jinja.py``'s environment
with the variables of ``variables.py``.

**Advertising (광고성 정보) is declared, never guessed.** Every template starts with
``{% set advertising = true %}`` or ``{% set advertising = false %}``; a template that
says neither is refused, so nobody sends an advertisement without its legal marks by
forgetting a line.

A template is checked when a journey that uses it is published (:func:`check_template`):
rendered against a sample customer and a sparse one, so a broken template fails at
publish time, not at 3 a.m.
"""

from __future__ import annotations

from typing import Any

from automation.channels.base import CHANNELS
from automation.channels.jinja import TemplateProblem, check_name
from automation.config import get_settings
from automation.tracking.short import LINKS, short_url


def sample_context(channel: str) -> dict[str, Any]:
    """A full context of the shape the delivery passes, for previews and checks (an
    SMS's links are short tracked links, as ``delivery/content.py`` gives them)."""
    context: dict[str, Any] = {
        "customer": {
            "customer_id": "C-0001",
            "name": "홍길동",
            "email": "gildong.hong@example.com",
            "mobile": "010-1234-5678",
            "gender": "M",
            "birth_date": "1985-03-14",
            "joined_at": "2024-11-22",
            "top_content": ["education-children", "pension-savings"],
            "top_categories": ["insurance"],
        },
        "policy": {
            "policy_id": "P-0001",
            "product_code": "EDU-CARE",
            "product_name": "교보 에듀케어 교육보험",
            "start_date": "2016-12-12",
            "maturity_date": "2026-12-12",
            "status": "active",
        },
        "product": {
            "product_code": "CHILD-CI",
            "name": "어린이 CI보험",
            "category": "insurance",
        },
        "message": {"id": 1, "key": f"sample:{channel}"},
    }
    if channel == "sms":
        context["links"] = {name: short_url(1, name) for name in LINKS.values()}
    return context


def check_template(channel: str, name: str) -> list[str]:
    """Problems that would stop ``name`` from being sent on ``channel``; empty if none.

    Renders with :func:`sample_context` and with a sparse one (no name, policy or
    product), so a template that only works for some customers fails at publish time.
    """
    spec = CHANNELS.get(channel)
    if spec is None or spec.render is None:
        templated = " or ".join(c.name for c in CHANNELS.values() if c.render is not None)
        return [f"unknown channel {channel!r}: {templated}"]
    try:
        check_name(name)
    except TemplateProblem as exc:
        return [str(exc)]
    folder = get_settings().templates_dir / channel
    missing = [
        f"{channel}/{name}{ext}: missing"
        for ext in spec.template_files
        if not (folder / f"{name}{ext}").is_file()
    ]
    if missing:
        return missing
    problems: list[str] = []
    for label, context in (
        ("", sample_context(channel)),
        (" for a customer with no name, policy or product", _sparse(channel)),
    ):
        try:
            spec.render(name, context)
        except TemplateProblem as exc:
            if str(exc) not in problems:
                problems.append(f"{exc}{label}")
    return problems


def _sparse(channel: str) -> dict[str, Any]:
    context = sample_context(channel)
    context["customer"]["name"] = None
    context["policy"] = None
    context["product"] = None
    context["customer"]["top_content"] = []
    context["customer"]["top_categories"] = []
    context.get("links", {}).pop("product", None)  # no fixed product: the site's link
    return context
