"""SMS text as carriers count it: CP949 bytes, the SMS and LMS limits, truncation, and
Korean mobile numbers.

CP949 rather than Python's ``euc-kr``: the latter spells the 8,822 syllables outside
KS X 1001 (똠, 뷁) as 8-byte jamo sequences, which no carrier counts.
"""

from __future__ import annotations

import codecs
import re

from automation.channels.errors import PermanentDeliveryError

SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
LMS_SUBJECT_MAX_BYTES = 40  # what Korean carriers display; longer subjects are cut

_WIDE = "automation.sms_wide"
_MOBILE = re.compile(r"01[016789]\d{7,8}")


def _count_as_two(exc: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return b"??" * (exc.end - exc.start), exc.end


codecs.register_error(_WIDE, _count_as_two)


def sms_size(text: str) -> int:
    """Bytes ``text`` takes in an SMS: CP949, 2 per Hangul syllable, 2 per character
    outside it (emoji), 1 per newline."""
    return len(text.replace("\r\n", "\n").encode("cp949", errors=_WIDE))


def truncate_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` of at most ``limit`` SMS bytes."""
    while sms_size(text) > limit:
        text = text[:-1]
    return text


def normalise_mobile(number: str) -> str:
    """``010-1234-5678`` / ``+82 10 1234 5678`` → ``01012345678``.

    Raises:
        PermanentDeliveryError: not a Korean mobile number.
    """
    digits = re.sub(r"[\s().-]", "", number or "")
    if digits.startswith("+82"):
        digits = "0" + digits[3:]
    if not _MOBILE.fullmatch(digits):
        raise PermanentDeliveryError(f"not a mobile number: {number!r}")
    return digits
