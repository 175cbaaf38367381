"""SMS: sizes in EUC-KR bytes, the legal wrapping of advertising, and the gateways
(a real local HTTP server, the JSON file outbox)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from automation.channels.errors import PermanentDeliveryError, TransientDeliveryError
from automation.channels.jinja import TemplateProblem
from automation.channels.sms import (
    FileGateway,
    HttpGateway,
    OutgoingSms,
    close_gateways,
    get_gateway,
)
from automation.channels.sms_template import render_sms
from automation.channels.sms_text import normalise_mobile, sms_size
from automation.channels.templates import sample_context
from automation.config import ROOT, reset_settings
from tests.peers import free_port

AD_HEAD = "(광고)교보생명\n"
AD_TAIL = "\n무료수신거부 080-000-0000"


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    close_gateways()


@pytest.fixture
def sms_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    root = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", root)
    monkeypatch.setenv("AUTOMATION_TEMPLATES_DIR", str(root))
    reset_settings()

    def write(name: str, text: str) -> None:
        (root / "sms" / f"{name}.txt").write_text(text, encoding="utf-8")

    return write


INFO = "{% set advertising = false %}"
AD = "{% set advertising = true %}"


def test_sizes_count_hangul_as_two_bytes() -> None:
    assert sms_size("가나다") == 6
    assert sms_size("abc 123") == 7
    assert sms_size("똠뷁") == 4  # outside KS X 1001, still 2 bytes each in CP949
    assert sms_size("😀") == 2  # outside CP949: counted as 2
    assert sms_size("가\r\n나") == 5  # a line break is one byte


def test_ninety_bytes_is_an_sms_and_ninety_one_an_lms(sms_template: Callable) -> None:
    sms_template("exact", INFO + "가" * 45)
    sms_template("over", INFO + "가" * 45 + "a")
    exact = render_sms("exact", sample_context("sms"))
    over = render_sms("over", sample_context("sms"))
    assert (exact.kind, exact.size, exact.subject) == ("sms", 90, None)
    assert (over.kind, over.size) == ("lms", 91)
    assert over.subject == "가" * 20  # the first line, cut to 40 bytes
    sms_template("emoji", INFO + "😀" * 45)
    assert render_sms("emoji", sample_context("sms")).kind == "sms"


def test_over_two_thousand_bytes_is_refused(sms_template: Callable) -> None:
    sms_template("fits", INFO + "가" * 1000)
    assert render_sms("fits", sample_context("sms")).size == 2000
    sms_template("long", INFO + "가" * 1000 + ".")
    with pytest.raises(TemplateProblem, match="2001 bytes, over the 2,000-byte LMS limit"):
        render_sms("long", sample_context("sms"))


def test_advertising_is_wrapped_and_counted_with_its_wrapper(sms_template: Callable) -> None:
    sms_template("promo", AD + "{{ customer.name }}님, 신상품 안내")
    sms = render_sms("promo", sample_context("sms"))
    assert sms.text == f"{AD_HEAD}홍길동님, 신상품 안내{AD_TAIL}"
    assert sms.advertising and sms.kind == "sms"
    assert sms.size == sms_size(sms.text) == 15 + 21 + 26  # head, text, tail
    # 49 bytes of text is the most an advertisement can say in one SMS.
    sms_template("edge", AD + "가" * 24 + "a")
    sms_template("edge2", AD + "가" * 25)
    assert render_sms("edge", sample_context("sms")).kind == "sms"
    assert render_sms("edge2", sample_context("sms")).kind == "lms"


def test_an_lms_takes_its_subject_from_the_block(sms_template: Callable) -> None:
    sms_template(
        "letter",
        AD
        + "{% block subject %}만기 안내{% endblock %}{% block body %}"
        + "안내 " * 40
        + "{% endblock %}",
    )
    sms = render_sms("letter", sample_context("sms"))
    assert sms.kind == "lms"
    assert sms.subject == "(광고)만기 안내"
    assert sms.text.startswith(AD_HEAD + "안내 안내") and sms.text.endswith(AD_TAIL)
    assert "만기 안내" not in sms.text  # the subject block is not part of the text


def test_shipped_sms_are_advertising_and_fit(sms_template: Callable) -> None:
    for name in ("product_reminder", "cross_sell_reminder", "reactivation_sms"):
        sms = render_sms(name, sample_context("sms"))
        assert sms.advertising and sms.kind == "sms", name
        assert sms.text.startswith(AD_HEAD) and sms.text.endswith(AD_TAIL)
    reminder = render_sms("retention_reminder", sample_context("sms"))
    assert reminder.kind == "lms" and reminder.subject == "(광고)만기 전 보장 안내"
    assert "2026년 12월 12일" in reminder.text


def test_an_empty_text_is_refused(sms_template: Callable) -> None:
    sms_template("blank", INFO + "{% if false %}x{% endif %}\n  \n")
    with pytest.raises(TemplateProblem, match="empty"):
        render_sms("blank", sample_context("sms"))


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("010-1234-5678", "01012345678"),
        ("+82 10 1234 5678", "01012345678"),
        ("0111234567", "0111234567"),
    ],
)
def test_mobile_numbers_are_normalised(number: str, expected: str) -> None:
    assert normalise_mobile(number) == expected


@pytest.mark.parametrize("number", ["02-123-4567", "", "010-12", "phone"])
def test_a_landline_or_garbage_is_a_permanent_failure(number: str) -> None:
    with pytest.raises(PermanentDeliveryError):
        normalise_mobile(number)


def _outgoing(key: str = "enrollment:3:2:0") -> OutgoingSms:
    rendered = render_sms("product_reminder", sample_context("sms"))
    return OutgoingSms.of(rendered, to="010-1234-5678", message_key=key)


def test_the_file_outbox_writes_one_json_per_message_key(tmp_path: Path) -> None:
    gateway = get_gateway()
    assert isinstance(gateway, FileGateway)
    first = gateway.send(_outgoing())
    assert gateway.send(_outgoing()) == first
    gateway.send(_outgoing("enrollment:4:2:0"))
    files = sorted((tmp_path / "outbox" / "sms").glob("*.json"))
    assert len(files) == 2
    data = json.loads(files[0].read_text(encoding="utf-8"))
    assert data["to"] == "01012345678"
    assert data["text"].startswith("(광고)교보생명\n홍길동님")
    assert (data["kind"], data["subject"], data["message_key"]) == ("sms", None, "enrollment:3:2:0")
    assert data["size"] == sms_size(data["text"])


class Gateway(BaseHTTPRequestHandler):
    """A gateway whose answer depends on the path: /ok, /busy, /bad, /slow."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Gateway.received.append(
            {"path": self.path, "body": body, "auth": self.headers["Authorization"]}
        )
        if self.path == "/slow":
            time.sleep(1.0)
        status, answer = {
            "/ok": (200, {"id": "gw-42", "status": "queued"}),
            "/busy": (503, {"reason": "maintenance"}),
            "/bad": (400, {"reason": "invalid destination number"}),
            "/throttled": (429, {"reason": "slow down"}),
        }.get(self.path, (200, {}))
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway_url() -> Iterator[str]:
    Gateway.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_http_gateway_posts_json_and_returns_the_provider_id(
    gateway_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AUTOMATION_SMS_URL", gateway_url.replace("http://", "http://acct:key@") + "/ok"
    )
    monkeypatch.setenv("AUTOMATION_PUBLIC_URL", "https://crm.example.com")
    reset_settings()
    gateway = get_gateway()
    assert isinstance(gateway, HttpGateway)

    assert gateway.send(_outgoing()) == "gw-42"

    [request] = Gateway.received
    assert request["auth"].startswith("Basic ")
    body = request["body"]
    assert body["to"] == "01012345678" and body["kind"] == "sms" and body["subject"] is None
    assert body["text"].startswith("(광고)교보생명") and body["text"].endswith("080-000-0000")
    assert body["message_key"] == "enrollment:3:2:0"
    assert body["callback_url"] == "https://crm.example.com/v1/sms/callback"
    assert body["from"] == "15880000"


@pytest.fixture
def http_gateway(gateway_url: str) -> Iterator[Callable[..., HttpGateway]]:
    made: list[HttpGateway] = []

    def make(path: str, **kwargs: Any) -> HttpGateway:
        made.append(HttpGateway(gateway_url + path, **kwargs))
        return made[-1]

    yield make
    for gateway in made:
        gateway.close()


def test_gateway_errors_are_sorted_into_transient_and_permanent(
    http_gateway: Callable[..., HttpGateway],
) -> None:
    sms = _outgoing()
    with pytest.raises(TransientDeliveryError, match="503: maintenance"):
        http_gateway("/busy").send(sms)
    with pytest.raises(TransientDeliveryError, match="429"):
        http_gateway("/throttled").send(sms)
    with pytest.raises(PermanentDeliveryError, match="400: invalid destination number"):
        http_gateway("/bad").send(sms)
    with pytest.raises(TransientDeliveryError, match="timed out"):
        http_gateway("/slow", timeout=0.2).send(sms)


def test_an_unreachable_gateway_is_transient() -> None:
    port = free_port()
    gateway = HttpGateway(f"http://127.0.0.1:{port}/send", timeout=2)
    try:
        with pytest.raises(TransientDeliveryError, match="unreachable"):
            gateway.send(_outgoing())
    finally:
        gateway.close()


def test_an_accepted_message_without_an_id_is_not_sent_again(
    http_gateway: Callable[..., HttpGateway],
) -> None:
    assert http_gateway("/no-id").send(_outgoing()) == "http:200"
