"""Counting servers for the delivery bench, each run in its own process.

- ``python bench/_sinks.py smtp PORT``: an aiosmtpd server on 127.0.0.1 that accepts
  every mail, keeps its ``Message-ID`` and discards the rest. A line ``stats`` on its
  stdin answers one JSON line (received, distinct, duplicates, bytes, a digest of the
  sorted ids) and starts counting afresh. A line ``arrivals`` answers one JSON line, the
  ``[Message-ID, arrival time]`` pairs (``time.time()`` when the mail's data was taken)
  since the last ``arrivals``, and forgets them; ``stats`` does not touch them.
- ``python bench/_sinks.py http PORT``: an SMS gateway as ``channels/sms.py`` speaks to
  it (POST JSON, answer ``{"id": …}``), under uvicorn; it keeps each ``message_key``.
  ``GET /__stats`` answers the same JSON and starts afresh.

:class:`Sink` starts one from the bench and asks for its figures.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def digest(keys: list[str]) -> str:
    """A short fingerprint of a set of ids (sorted), the bench's and the server's alike."""
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]


class Tally:
    """What a server received since the last ``stats``."""

    def __init__(self) -> None:
        self.keys: Counter[str] = Counter()
        self.bytes = 0

    def add(self, key: str, size: int) -> None:
        self.keys[key] += 1
        self.bytes += size

    def stats(self) -> dict[str, Any]:
        """The figures, then a fresh count."""
        received = sum(self.keys.values())
        dupes = sum(n - 1 for n in self.keys.values() if n > 1)
        out = {
            "received": received,
            "distinct": len(self.keys),
            "duplicates": dupes,
            "bytes": self.bytes,
            "digest": digest(list(self.keys)),
        }
        self.keys, self.bytes = Counter(), 0
        return out


# ---------------------------------------------------------------- servers (child side)


def serve_smtp(port: int) -> None:
    """aiosmtpd on ``port`` until stdin closes; ``stats`` lines answered on stdout."""
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.ERROR)
    tally = Tally()
    arrivals: list[tuple[str, float]] = []

    class Counting:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            data: bytes = envelope.content
            found = MESSAGE_ID.search(data.split(b"\r\n\r\n", 1)[0])
            key = found.group(1).decode() if found else ""
            arrivals.append((key, time.time()))
            tally.add(key, len(data))
            return "250 2.0.0 Ok: discarded"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "stats":
                print(json.dumps(tally.stats()), flush=True)
            elif line.strip() == "arrivals":
                taken = arrivals[:]  # the server's thread only appends: keep what came since
                del arrivals[: len(taken)]
                print(json.dumps(taken), flush=True)
    except KeyboardInterrupt:  # a Ctrl-C reaches the bench's whole group: end quietly
        pass
    finally:
        controller.stop()


def serve_http(port: int) -> None:
    """A JSON SMS gateway under uvicorn (uvloop, httptools) on ``port``."""
    import orjson
    import uvicorn

    tally = Tally()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["path"] == "/__stats":
            answer = orjson.dumps(tally.stats())
        else:
            key = str(orjson.loads(body).get("message_key", ""))
            tally.add(key, len(body))
            answer = orjson.dumps({"id": f"gw-{sum(tally.keys.values())}"})
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        loop="uvloop",
        http="httptools",
    )


# ---------------------------------------------------------------- the bench's side


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(0.05)


class Sink:
    """One counting server in a child process."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), kind, str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if kind == "smtp":
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"the SMTP sink did not start: {line!r}")
        wait_port(self.port)

    @property
    def url(self) -> str:
        if self.kind == "smtp":
            return f"smtp://127.0.0.1:{self.port}"
        return f"http://127.0.0.1:{self.port}/v1/send"

    def stats(self) -> dict[str, Any]:
        """What it received since the last call (and it starts counting afresh)."""
        if self.kind == "http":
            answer = httpx.get(f"http://127.0.0.1:{self.port}/__stats", timeout=10)
            return dict(answer.json())
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def arrivals(self) -> list[tuple[str, float]]:
        """SMTP only: the ``(Message-ID, arrival time)`` pairs since the last call."""
        assert self.kind == "smtp" and self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("arrivals\n")
        self.proc.stdin.flush()
        return [(str(k), float(t)) for k, t in json.loads(self.proc.stdout.readline())]

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        if self.kind == "http":
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    {"smtp": serve_smtp, "http": serve_http}[sys.argv[1]](int(sys.argv[2]))
