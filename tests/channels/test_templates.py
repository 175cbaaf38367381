"""Templates: every shipped one renders, advertising is marked, broken ones fail at
publish time with the file and line."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from automation.channels.email_template import render_email
from automation.channels.jinja import TemplateProblem, josa, korean_date
from automation.channels.templates import check_template, sample_context
from automation.config import ROOT, get_settings, reset_settings
from automation.tracking import tokens as tracking

SHIPPED = ROOT / "templates"
ADVERTISING = {"product_recommendation", "cross_sell", "retention_offer", "reactivation"}


def _names(channel: str) -> list[str]:
    return sorted(
        p.stem
        for p in (SHIPPED / channel).glob("*.txt")
        if p.stem != "base" and not p.stem.startswith("_")
    )


EMAILS = _names("email")
SMSES = _names("sms")


def test_the_shipped_set_is_there() -> None:
    assert set(EMAILS) >= ADVERTISING | {
        "welcome",
        "welcome_tips",
        "first_policy_thanks",
        "birthday_greeting",
        "policy_anniversary",
        "signup_anniversary",
    }
    assert set(SMSES) >= {"product_reminder", "cross_sell_reminder", "retention_reminder"}


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_every_shipped_template_passes_the_publish_check(channel: str) -> None:
    for name in EMAILS if channel == "email" else SMSES:
        assert check_template(channel, name) == [], name


@pytest.mark.parametrize("name", EMAILS)
def test_every_shipped_email_links_somewhere_and_marks_advertising(name: str) -> None:
    mail = render_email(name, sample_context("email"))
    assert mail.advertising == (name in ADVERTISING)
    assert mail.subject.startswith("(광고) ") == mail.advertising
    assert "\n" not in mail.subject
    site_links = [u for u in re.findall(r'href="(https?://[^"]+)"', mail.html) if "/u/" not in u]
    assert site_links, "no link besides the unsubscribe one"
    unsubscribe = tracking.unsubscribe_url(1)
    for body in (mail.html, mail.text):
        assert unsubscribe in body
        assert "홍길동님" in body
        assert ("080-000-0000" in body) == mail.advertising
        assert ("광고성 정보" in body) == mail.advertising
    assert "{{" not in mail.html + mail.text
    assert mail.html.lstrip().startswith("<!DOCTYPE html>")


def test_html_is_escaped_and_text_is_not() -> None:
    context = sample_context("email")
    context["customer"]["name"] = "<b>김&이</b>"
    mail = render_email("welcome", context)
    assert "&lt;b&gt;김&amp;이&lt;/b&gt;님" in mail.html
    assert "<b>김&이</b>님" in mail.text
    assert "<b>김&이</b>님" in mail.subject  # the subject comes from the text part


def test_the_templates_need_no_name_policy_or_product() -> None:
    context = sample_context("email")
    context["customer"]["name"] = None
    context["policy"] = None
    context["product"] = None
    mail = render_email("retention_offer", context)
    assert "고객님" in mail.text
    assert "곧 만기를 맞습니다" in mail.text


@pytest.fixture
def own_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """A templates folder with the shipped layouts; returns a writer of more files."""
    root = tmp_path / "templates"
    shutil.copytree(SHIPPED, root)
    monkeypatch.setenv("AUTOMATION_TEMPLATES_DIR", str(root))
    reset_settings()

    def write(path: str, text: str) -> None:
        (root / path).write_text(text, encoding="utf-8")

    return write


NOTICE = '{% extends "email/base.PART" %}{% block subject %}안내{% endblock %}'


def _pair(write: Callable[[str, str], None], name: str, head: str, body: str) -> None:
    for part in ("html", "txt"):
        write(
            f"email/{name}.{part}",
            head + NOTICE.replace("PART", part) + "{% block body %}" + body + "{% endblock %}",
        )


def test_a_template_must_declare_whether_it_advertises(own_templates: Callable) -> None:
    _pair(own_templates, "promo", "", "신상품")
    [problem] = check_template("email", "promo")
    assert "email/promo.txt" in problem and "set advertising" in problem


def test_the_renderer_adds_the_ad_mark_once(own_templates: Callable) -> None:
    _pair(own_templates, "promo", "{% set advertising = true %}", "신상품")
    assert render_email("promo", sample_context("email")).subject == "(광고) 안내"
    own_templates(
        "email/promo.txt",
        '{% set advertising = true %}{% extends "email/base.txt" %}'
        "{% block subject %}(광고) 안내{% endblock %}{% block body %}x{% endblock %}",
    )
    assert render_email("promo", sample_context("email")).subject == "(광고) 안내"


def test_an_advertisement_that_skips_the_layout_is_refused(own_templates: Callable) -> None:
    for part in ("html", "txt"):
        own_templates(
            f"email/bare.{part}",
            "{% set advertising = true %}{% block subject %}특가{% endblock %}"
            "{% block body %}지금 가입하세요{% endblock %}",
        )
    [problem] = check_template("email", "bare")
    assert "footer lacks" in problem and "extend base" in problem


def test_a_typo_is_reported_with_file_and_line(own_templates: Callable) -> None:
    _pair(own_templates, "typo", "{% set advertising = false %}", "\n\n{{ customer.nmae }}님")
    [problem] = check_template("email", "typo")
    assert re.match(r"email/typo\.txt:\d+: .*nmae", problem), problem


def test_a_template_that_only_works_with_a_policy_is_caught(own_templates: Callable) -> None:
    _pair(own_templates, "maturity", "{% set advertising = true %}", "{{ policy.product_name }}")
    [problem] = check_template("email", "maturity")
    assert "product_name" in problem and "no name, policy or product" in problem


def test_syntax_errors_and_missing_parts_are_reported(own_templates: Callable) -> None:
    own_templates("email/half.html", "{% set advertising = false %}")
    assert check_template("email", "half") == ["email/half.txt: missing"]
    _pair(own_templates, "broken", "{% set advertising = false %}", "{% if %}")
    [problem] = check_template("email", "broken")
    assert problem.startswith("email/broken.html:1:") or problem.startswith("email/broken.txt:1:")
    assert check_template("email", "nothing") == [
        "email/nothing.html: missing",
        "email/nothing.txt: missing",
    ]
    assert check_template("fax", "welcome") == ["unknown channel 'fax': email or sms"]
    assert "not a template name" in check_template("email", "../secrets")[0]
    assert "not a template name" in check_template("email", "base")[0]


def test_parts_that_disagree_on_advertising_are_refused(own_templates: Callable) -> None:
    _pair(own_templates, "mixed", "{% set advertising = false %}", "x")
    own_templates(
        "email/mixed.html",
        '{% set advertising = true %}{% extends "email/base.html" %}'
        "{% block subject %}x{% endblock %}{% block body %}x{% endblock %}",
    )
    with pytest.raises(TemplateProblem, match="disagree"):
        render_email("mixed", sample_context("email"))


def test_subject_is_one_line(own_templates: Callable) -> None:
    _pair(own_templates, "multi", "{% set advertising = false %}", "x")
    own_templates(
        "email/multi.txt",
        '{% set advertising = false %}{% extends "email/base.txt" %}'
        "{% block subject %}첫 줄\nBcc: someone@example.com{% endblock %}"
        "{% block body %}x{% endblock %}",
    )
    assert render_email("multi", sample_context("email")).subject == (
        "첫 줄 Bcc: someone@example.com"
    )


def test_edits_are_picked_up_without_a_restart(own_templates: Callable) -> None:
    _pair(own_templates, "live", "{% set advertising = false %}", "첫판")
    assert "첫판" in render_email("live", sample_context("email")).text
    _pair(own_templates, "live", "{% set advertising = false %}", "둘째판")
    later = time.time() + 5  # a coarse file system may keep the same mtime within a second
    for part in ("html", "txt"):
        os.utime(get_settings().templates_dir / "email" / f"live.{part}", (later, later))
    # The files are looked at once a second, not on every render.
    give_up = time.monotonic() + 5
    while "둘째판" not in render_email("live", sample_context("email")).text:
        assert time.monotonic() < give_up, "the edit was not picked up"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("word", "pair", "expected"),
    [
        ("교보생명", "이/가", "교보생명이"),
        ("회사", "이/가", "회사가"),
        ("어린이 CI보험", "은/는", "어린이 CI보험은"),
        ("서울", "으로/로", "서울로"),
        ("1588-0000", "으로/로", "1588-0000으로"),
        ("080-000-0001", "으로/로", "080-000-0001로"),
        ("ABC", "을/를", "ABC을(를)"),
    ],
)
def test_josa_fits_the_word(word: str, pair: str, expected: str) -> None:
    assert josa(word, pair) == expected


def test_dates_read_in_korean_and_in_the_business_zone() -> None:
    assert korean_date("2026-12-12") == "2026년 12월 12일"
    assert korean_date(date(2026, 1, 5)) == "2026년 1월 5일"
    # 20:00 UTC on the 11th is already the 12th in Seoul.
    assert korean_date(datetime(2026, 12, 11, 20, 0, tzinfo=UTC)) == "2026년 12월 12일"
    with pytest.raises(ValueError):
        korean_date(datetime(2026, 12, 11, 20, 0))  # noqa: DTZ001 - naive on purpose
