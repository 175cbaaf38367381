"""The marketing-ops pages (/ops/journeys, /ops/segments, /ops/templates): a marketer
uploads a broken journey and sees its line, then a good one and sees version 2; pauses
and resumes; reads the diagram; refreshes a segment; previews an e-mail and an SMS for
a customer. Plus the refusals a form cannot make: no CSRF token, the wrong role, an
oversized file."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

from sqlmodel import select

from automation.channels.sms_text import SMS_MAX_BYTES, sms_size
from automation.console.diagram import journey_svg
from automation.db import session_scope
from automation.journeys.registry import builtin_files, publish_files
from automation.journeys.spec import load_text
from automation.models import Customer, Journey, JourneyVersion, Policy, Product, Segment
from automation.segments.registry import publish_builtin
from tests.console.browser import (
    Served,
    open_page,
    person,
    shot,
    sign_in,
    signed_in_client,
)

WELCOME = next(p for p in builtin_files() if p.stem == "welcome").read_text(encoding="utf-8")
BROKEN = WELCOME.replace("after: {wait: 3d, to: tips}", "after: {wait: soon, to: tips}")
GOOD = WELCOME.replace("after: {wait: 3d, to: tips}", "after: {wait: 2d, to: tips}")


def _setup() -> None:
    """The shipped journeys and segments, and one customer with a maturing policy."""
    assert "journey: welcome" in WELCOME and BROKEN != WELCOME and GOOD != WELCOME
    publish_files(builtin_files())
    publish_builtin()
    with session_scope() as session:
        session.add(
            Product(product_code="EDU", name="교보 에듀케어 교육보험", category="insurance")
        )
        session.add(
            Customer(
                customer_id="C-9001",
                name="김민지",
                email="minji.kim@example.com",
                mobile="010-2345-6789",
                sms_consent=True,
                email_consent=True,
            )
        )
        session.flush()
        session.add(
            Policy(
                policy_id="P-9001",
                customer_id="C-9001",
                product_code="EDU",
                maturity_date=date(2031, 3, 14),
            )
        )


def _journey(journey_id: str) -> tuple[str, list[int]]:
    with session_scope() as session:
        journey = session.get(Journey, journey_id)
        assert journey is not None
        found = session.exec(
            select(JourneyVersion.version).where(JourneyVersion.journey_id == journey_id)
        ).all()
        return journey.status, sorted(found)


def test_a_marketer_runs_journeys_segments_and_templates(browser: Any, console: Served) -> None:
    _setup()
    person("mia", "marketer")
    page, watch = open_page(browser, console)
    sign_in(page, "mia")
    assert page.url.endswith("/ops/journeys")
    rows = page.get_by_test_id("journey-row")
    assert rows.count() == len(builtin_files())
    welcome = page.locator('[data-testid="journey-row"][data-journey="welcome"]')
    assert welcome.get_by_test_id("journey-version").inner_text() == "v1"

    # A broken file: refused with its line; nothing published.
    page.get_by_label("YAML 파일 Journey file").set_input_files(
        {"name": "welcome-v2.yaml", "mimeType": "text/yaml", "buffer": BROKEN.encode()}
    )
    page.get_by_test_id("upload").click()
    errors = page.get_by_test_id("validate-errors")
    assert "welcome-v2.yaml:14:" in errors.inner_text()
    assert "not a duration" in errors.inner_text()
    assert _journey("welcome")[1] == [1]
    # The refusal is a 422 page, which the browser logs; that one and nothing else.
    assert len(watch.errors) == 1 and "422" in watch.errors[0], watch.errors
    watch.errors.clear()
    shot(page, "ops-journeys-errors")

    # The fixed file: version 2.
    page.get_by_label("YAML 파일 Journey file").set_input_files(
        {"name": "welcome-v2.yaml", "mimeType": "text/yaml", "buffer": GOOD.encode()}
    )
    page.get_by_test_id("upload").click()
    assert "welcome 버전 2 게시됨" in page.get_by_test_id("published").inner_text()
    assert page.get_by_test_id("validate-errors").count() == 0
    assert welcome.get_by_test_id("journey-version").inner_text() == "v2"
    assert _journey("welcome")[1] == [1, 2]

    # Pause, then resume, with the keyboard as much as the mouse.
    welcome.get_by_test_id("pause").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/ops/journeys?changed=paused")
    assert "paused" in welcome.get_by_test_id("journey-status").inner_text()
    assert _journey("welcome")[0] == "paused"
    shot(page, "ops-journeys")
    welcome.get_by_test_id("resume").click()
    page.wait_for_url("**/ops/journeys?changed=active")
    assert "active" in welcome.get_by_test_id("journey-status").inner_text()
    assert _journey("welcome")[0] == "active"

    # The journey's page: both versions, and the state machine drawn.
    welcome.get_by_role("link").first.click()
    page.wait_for_url("**/ops/journeys/welcome")
    assert page.get_by_test_id("version-row").count() == 2
    assert page.get_by_test_id("shown-version").inner_text().startswith("v2")
    diagram = page.get_by_test_id("journey-diagram")
    names = diagram.locator(".state-name").all_text_contents()
    assert names == ["thanks", "tips", "done"]
    labels = diagram.locator(".label").all_text_contents()
    assert "after 2d" in labels and "after 1d" in labels
    page.goto("/ops/journeys/maturity-retention")
    names = page.get_by_test_id("journey-diagram").locator(".state-name").all_text_contents()
    assert {"assign", "holdout", "offer", "sms_reminder", "consultant_call", "done"} <= set(names)
    labels = page.get_by_test_id("journey-diagram").locator(".label").all_text_contents()
    assert "on email_clicked" in labels and "after 3d" in labels and "10% control" in labels
    shot(page, "ops-journey-diagram")

    # Segments: sizes, then a refresh fills the member segment with our customer.
    page.get_by_role("link", name="세그먼트 Segments").click()
    page.wait_for_url("**/ops/segments")
    member = page.locator('[data-testid="segment-row"][data-segment="member"]')
    assert member.get_by_test_id("segment-size").inner_text() == "0"
    member.get_by_test_id("refresh").click()
    page.wait_for_url("**/ops/segments?refreshed=member*")
    assert "회원 1명" in page.get_by_test_id("refreshed").inner_text()
    assert member.get_by_test_id("segment-size").inner_text() == "1"
    with session_scope() as session:
        row = session.get(Segment, "member")
        assert row is not None and row.refreshed_at is not None
    shot(page, "ops-segments")
    member.get_by_role("link").first.click()
    page.wait_for_url("**/ops/segments/member")
    assert "lifecycle_stage: member" in page.get_by_test_id("segment-definition").inner_text()
    assert "C-9001" in page.get_by_test_id("history").inner_text()
    shot(page, "ops-segment")

    # Templates: the e-mail as it will look, for our customer.
    page.get_by_role("link", name="템플릿 Templates").click()
    page.wait_for_url("**/ops/templates")
    page.get_by_label("템플릿 Template").select_option("email:retention_offer")
    page.get_by_label("고객 번호 Customer ID").fill("C-9001")
    page.get_by_test_id("preview").click()
    page.wait_for_url("**/ops/templates?template=email*")
    assert page.get_by_test_id("email-subject").inner_text()
    assert "P-9001" in page.get_by_test_id("preview-result").inner_text()
    frame = page.frame_locator('[data-testid="email-frame"]')
    assert "김민지" in frame.locator("body").inner_text()
    assert "교보 에듀케어 교육보험" in frame.locator("body").inner_text()
    assert "김민지" in page.get_by_test_id("email-text").inner_text()
    shot(page, "ops-templates-email")

    # The SMS, its CP949 byte count and kind, as a carrier counts them.
    page.get_by_label("템플릿 Template").select_option("sms:retention_reminder")
    page.get_by_test_id("preview").click()
    page.wait_for_url("**/ops/templates?template=sms*")
    text = page.get_by_test_id("sms-text").inner_text()
    assert "김민지" in text
    shown = int(re.sub(r"\D", "", page.get_by_test_id("sms-bytes").inner_text()))
    assert shown == sms_size(text)
    kind = page.get_by_test_id("sms-kind").inner_text()
    assert kind == ("LMS" if shown > SMS_MAX_BYTES else "SMS")
    shot(page, "ops-templates")
    watch.check()


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(console: Served) -> None:
    publish_files(builtin_files())
    person("mia", "marketer")
    http, csrf = signed_in_client(console, "mia")
    refused = http.post("/ops/journeys/welcome/status", data={"status": "paused"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    wrong = http.post("/ops/journeys/welcome/status", data={"status": "paused", "csrf": "x" * 43})
    assert wrong.status_code == 403
    upload = http.post(
        "/ops/journeys/upload", files={"file": ("welcome.yaml", GOOD.encode(), "text/yaml")}
    )
    assert upload.status_code == 403
    assert http.post("/ops/segments/member/refresh", data={}).status_code == 403
    assert _journey("welcome") == ("active", [1])
    # The same requests with the token do what they say.
    done = http.post("/ops/journeys/welcome/status", data={"status": "paused", "csrf": csrf})
    assert done.status_code == 303 and _journey("welcome")[0] == "paused"


def test_an_agent_cannot_open_the_ops_pages(console: Served) -> None:
    person("kim", "agent")
    http, csrf = signed_in_client(console, "kim")
    for path in ("/ops/journeys", "/ops/segments", "/ops/templates", "/ops/journeys/welcome"):
        answer = http.get(path)
        assert answer.status_code == 403, path
        assert "agent 역할은 이 화면을 열 수 없습니다" in answer.text
    posted = http.post(
        "/ops/journeys/upload",
        data={"csrf": csrf},
        files={"file": ("welcome.yaml", GOOD.encode(), "text/yaml")},
    )
    assert posted.status_code == 403
    with session_scope() as session:
        assert session.exec(select(Journey)).all() == []


def test_an_oversized_or_broken_upload_is_refused_with_a_clear_message(console: Served) -> None:
    person("mia", "marketer")
    http, csrf = signed_in_client(console, "mia")
    padding = "# " + "x" * 1000 + "\n"
    huge = (GOOD + padding * 300).encode()  # ~300 KB of valid YAML
    answer = http.post(
        "/ops/journeys/upload",
        data={"csrf": csrf},
        files={"file": ("huge.yaml", huge, "text/yaml")},
    )
    assert answer.status_code == 413
    assert "over the 256 KB limit" in answer.text and "Traceback" not in answer.text
    broken = http.post(
        "/ops/journeys/upload",
        data={"csrf": csrf},
        files={"file": ("../../etc/<b>.yaml", BROKEN.encode(), "text/yaml")},
    )
    assert broken.status_code == 422
    assert "_b_.yaml:14:" in broken.text and "<b>" not in broken.text
    binary = http.post(
        "/ops/journeys/upload",
        data={"csrf": csrf},
        files={"file": ("w.yaml", b"journey: w\nname: \xff\xfe\n", "text/yaml")},
    )
    assert binary.status_code == 422 and "w.yaml:2: not UTF-8" in binary.text
    nothing = http.post("/ops/journeys/upload", data={"csrf": csrf})
    assert nothing.status_code == 400
    with session_scope() as session:
        assert session.exec(select(Journey)).all() == []  # nothing half-written


def test_unknown_things_are_a_404_page(console: Served) -> None:
    _setup()
    person("mia", "marketer")
    http, csrf = signed_in_client(console, "mia")
    for path, says in (
        ("/ops/journeys/nope", "'nope' 여정이 없습니다"),
        ("/ops/journeys/welcome?version=9", "버전 9"),
        ("/ops/segments/nope", "'nope' 세그먼트가 없습니다"),
        ("/ops/templates?template=email:nope", "템플릿 'email:nope'"),
        ("/ops/templates?template=email:welcome&customer=C-404", "고객 'C-404'"),
    ):
        answer = http.get(path)
        assert answer.status_code == 404, path
        assert says in html.unescape(answer.text), path
    gone = http.post("/ops/journeys/nope/status", data={"status": "paused", "csrf": csrf})
    assert gone.status_code == 404
    refresh = http.post("/ops/segments/nope/refresh", data={"csrf": csrf})
    assert refresh.status_code == 404
    sample = http.get("/ops/templates?template=sms:product_reminder")
    assert sample.status_code == 200 and 'data-testid="sms-bytes"' in sample.text


def test_the_diagram_escapes_what_a_file_says() -> None:
    text = GOOD.replace("name: 회원 가입 환영 (welcome)", 'name: "<script>x</script> & co"')
    svg = journey_svg(load_text(text, "w.yaml", check_files=False), {"tips": 3})
    assert "<script>" not in svg and "&lt;script&gt;x&lt;/script&gt; &amp; co" in svg
    assert 'data-state="tips"' in svg and "3명" in svg
