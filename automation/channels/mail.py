"""An e-mail ready for the wire: its envelope, its header lines and its MIME body.

``email.py`` writes the few shapes of mail the engine sends straight into this form;
the standard library's ``EmailMessage`` took 3.3 ms to build and serialise one mail,
more than the SMTP exchange itself, most of it parsing and refolding headers we had
already written. Every header value here is ASCII and already folded (``\\n `` between
lines, RFC 5322 §2.2.3); the body is ASCII (base64 parts). Reading a header back
(``mail["Subject"]``) parses it as ``email.policy.default`` would, decoded.
"""

from __future__ import annotations

import base64
import email.policy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

_READ = email.policy.default


@dataclass(frozen=True)
class OutgoingMail:
    """One e-mail: who it is from and to on the envelope, and its bytes.

    Attributes:
        envelope_from: the ``MAIL FROM`` address (where bounces go).
        recipients: the ``RCPT TO`` addresses.
        headers: ``(name, value)`` in order, values folded and ASCII.
        body: everything after the blank line, ``\\n`` line ends, ASCII.
    """

    envelope_from: str
    recipients: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]
    body: str

    def as_bytes(self, linesep: str = "\n") -> bytes:
        """The whole mail; ``linesep="\\r\\n"`` for SMTP."""
        head = "".join(f"{name}: {value}\n" for name, value in self.headers)
        text = f"{head}\n{self.body}"
        return (text if linesep == "\n" else text.replace("\n", linesep)).encode("ascii")

    def get(self, name: str, default: Any = None) -> Any:
        """The first ``name`` header, decoded (``email.policy.default``), or ``default``."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return _READ.header_fetch_parse(key, value)
        return default

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k.lower() == name.lower() for k, _ in self.headers)

    def names(self) -> list[str]:
        """The header names, in order."""
        return [name for name, _ in self.headers]

    def with_first(self, name: str, value: str) -> OutgoingMail:
        """This mail with one more header on top (a trace or signature header)."""
        return replace(self, headers=((name, value), *self.headers))


def multipart_alternative(boundary: str, parts: Sequence[tuple[str, str]]) -> str:
    """A ``multipart/alternative`` body of UTF-8 text parts in base64.

    ``boundary`` must not occur in a base64 line: one with a character outside the
    base64 alphabet (``_``) never does.
    """
    chunks = [
        f'--{boundary}\nContent-Type: {kind}; charset="utf-8"\n'
        f"Content-Transfer-Encoding: base64\n\n{_base64_lines(text)}"
        for kind, text in parts
    ]
    return "".join(chunks) + f"--{boundary}--\n"


def _base64_lines(text: str) -> str:
    # 76-character lines, as RFC 2045 §6.8 asks and EmailMessage writes them: what
    # base64.encodebytes writes, from one encoding cut in lines (it encodes 57 bytes a
    # call: 150 calls for a mail's two parts).
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    if not encoded:
        return ""
    return "\n".join([encoded[i : i + 76] for i in range(0, len(encoded), 76)]) + "\n"
