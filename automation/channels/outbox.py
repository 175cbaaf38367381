"""Files as an outbox: what the ``.eml`` sink and the SMS file gateway share.

One file per message, named by its message key, written whole: sending the same
message again rewrites the same file, and a reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path


def file_stem(key: str) -> str:
    """A file name for a message key: readable, safe, and distinct for distinct keys."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._")[:80] or "message"
    return f"{safe}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
