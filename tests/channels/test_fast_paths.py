"""The delivery path's shortcuts write what the standard library (or the general path)
writes: the encoded subject, the base64 body lines, the recipient, the tracking tokens'
bytes, the SMTP envelope, and the consent link a template reads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from email.header import Header

import pytest
from aiosmtplib.email import quote_address

from automation.channels.email import recipient, recipient_address, subject_header
from automation.channels.errors import PLAIN_ADDRESS, AddressError
from automation.channels.mail import _base64_lines
from automation.channels.templates import sample_context
from automation.channels.variables import template_variables
from automation.config import get_settings, reset_settings
from automation.customers.consent_link import read_consent_token
from automation.tracking import tokens

PIECES = ["보장을 한 번 더", "윤태원님", "교보생명", "abc XYZ 012", "-!*+/_=?", "😀", "é ß"]


def _subjects(count: int) -> list[str]:
    rng = random.Random(7)
    found = []
    while len(found) < count:
        text = " ".join(rng.choice(PIECES) for _ in range(rng.randint(1, 25)))
        if not text.isascii():
            found.append(" ".join(text.split()))
    return found


def test_a_non_ascii_subject_is_encoded_as_the_standard_header_encodes_it() -> None:
    for subject in [*_subjects(500), "(광고) " + "가" * 200, "a" * 80 + "가", "😀" * 40]:
        expected = Header(subject, "utf-8", header_name="Subject").encode(linesep="\n")
        assert subject_header(subject) == expected, subject


@pytest.mark.parametrize("size", [0, 1, 56, 57, 58, 114, 1000, 4321])
def test_body_lines_are_what_encodebytes_writes(size: int) -> None:
    text = ("가a😀" * size)[:size]
    assert _base64_lines(text) == base64.encodebytes(text.encode()).decode("ascii")


@pytest.mark.parametrize(
    "to",
    ["a@example.kr", " a.b+c@mail.example.kr ", "x_y-z@sub-1.example.com", "o'neil@x.kr"],
)
def test_a_plain_recipient_is_taken_as_the_parser_would_give_it(to: str) -> None:
    assert recipient_address(to) == recipient(to).addr_spec


@pytest.mark.parametrize("to", ["not an address", "a@", "@b.kr", "김@example.kr", "a..b@c.kr x"])
def test_an_unusable_recipient_is_refused_as_before(to: str) -> None:
    with pytest.raises(AddressError):
        recipient(to)
    with pytest.raises(AddressError):
        recipient_address(to)


def _signed(data: dict[str, object]) -> str:
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    key = get_settings().secret_key.encode()
    mac = hmac.new(key, b"automation.tracking.v1\x00" + payload, hashlib.sha256).digest()[:16]
    return ".".join(base64.urlsafe_b64encode(b).rstrip(b"=").decode() for b in (payload, mac))


@pytest.mark.parametrize("message_id", [0, 7, 123_456_789, 2**40])
def test_tokens_are_the_signed_json_they_always_were(message_id: int) -> None:
    url = 'https://www.example.kr/상품?a=1&b="2"\\'
    assert tokens.open_token(message_id) == _signed({"k": "o", "m": message_id})
    assert tokens.unsubscribe_token(message_id) == _signed({"k": "u", "m": message_id})
    assert tokens.click_token(message_id, url) == _signed({"k": "c", "m": message_id, "u": url})
    assert tokens.read_token(tokens.click_token(message_id, url), "click").url == url


def test_a_token_follows_a_new_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = tokens.unsubscribe_token(5)
    monkeypatch.setenv("AUTOMATION_SECRET_KEY", "another-secret-key-of-enough-length")
    reset_settings()
    assert tokens.unsubscribe_token(5) != before
    assert tokens.read_token(tokens.unsubscribe_token(5), "unsubscribe").message_id == 5


@pytest.mark.parametrize(
    "address", ["a@example.kr", "bounce+x.y@mail.example.kr", "a-b_c%d@x-1.kr"]
)
def test_a_plain_envelope_address_is_written_as_aiosmtplib_writes_it(address: str) -> None:
    assert PLAIN_ADDRESS.fullmatch(address)
    assert quote_address(address) == f"<{address}>"


@pytest.mark.parametrize("address", ["a..b@x.kr", ".a@x.kr", "a@x..kr", "<a@x.kr>", "a b@x.kr"])
def test_other_envelope_addresses_go_through_aiosmtplib(address: str) -> None:
    assert not PLAIN_ADDRESS.fullmatch(address)


def test_the_consent_link_is_signed_when_a_template_reads_it() -> None:
    links = template_variables(sample_context("email"))["links"]
    assert "consent" in links
    customer_id, _ = read_consent_token(links["consent"].rpartition("/consent/")[2])
    assert customer_id == sample_context("email")["customer"]["customer_id"]
    assert links.get("consent") == links["consent"] and links.get("nothing") is None
    with pytest.raises(KeyError):
        links["nothing"]
