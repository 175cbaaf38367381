"""The personalize bench's load generator, run in a process of its own:
``python bench/_personalize_load.py`` with a JSON spec on stdin, one JSON result on
stdout.

Open loop at a fixed rate: request *i* is due at ``start + i / rate`` and leaves then
whether or not earlier ones were answered, over at most ``connections`` keep-alive
HTTP/1.1 connections (a request that finds none free waits). One that leaves more than
2 ms after its due time (no free connection, or the generator's loop behind) is late.
Latency runs from the request's due time to the end of its answer, so a server that
falls behind shows it in the figures instead of slowing the load down (no coordinated
omission). Plain asyncio streams, not an HTTP client library: the generator shares
the machine's two cores with the server and PostgreSQL, and must cost little.

Spec: ``{"host", "port", "key", "paths": [...], "rate", "seconds", "connections",
"expect": "json"|"any"}``; ``paths`` are used in turn. Result: ``{"latencies_ms":
[...], "errors": n, "error_samples": [...], "late": n, "max_late_ms", "sent",
"elapsed_s"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any

TIMEOUT = 10.0  # an answer later than this is an error


class Conn:
    """One keep-alive connection to the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def get(self, request: bytes) -> tuple[int, bytes]:
        """Send one GET; its status and body."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    host, port, rate = spec["host"], int(spec["port"]), float(spec["rate"])
    paths: list[str] = spec["paths"]
    total = max(1, round(rate * float(spec["seconds"])))
    headers = f"Host: {host}:{port}\r\nX-API-Key: {spec['key']}\r\nAccept: application/json\r\n"
    requests = [f"GET {p} HTTP/1.1\r\n{headers}\r\n".encode() for p in paths]
    pool: asyncio.Queue[Conn] = asyncio.Queue()
    for _ in range(int(spec["connections"])):
        pool.put_nowait(Conn(*await asyncio.open_connection(host, port)))
    latencies: list[float] = []
    errors: list[str] = []
    late: list[float] = []
    want_json = spec.get("expect") == "json"

    async def one(i: int, due: float) -> None:
        conn = await pool.get()
        if (waited := time.perf_counter() - due) > 0.002:
            late.append(waited)
        try:
            status, body = await asyncio.wait_for(conn.get(requests[i % len(requests)]), TIMEOUT)
            if status != 200:
                errors.append(f"{status}: {body[:200].decode(errors='replace')}")
            elif want_json and not isinstance(json.loads(body), dict):
                errors.append("an answer that is not a JSON object")
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            conn.close()
            conn = Conn(*await asyncio.open_connection(host, port))  # a fresh one for the pool
        latencies.append((time.perf_counter() - due) * 1000)
        pool.put_nowait(conn)

    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().close()
    return {
        "latencies_ms": latencies,
        "errors": len(errors),
        "error_samples": errors[:5],
        "late": len(late),
        "max_late_ms": max(late, default=0.0) * 1000,
        "sent": total,
        "elapsed_s": elapsed,
    }


def main() -> None:
    spec = json.loads(sys.stdin.read())
    with contextlib.suppress(ImportError):
        import uvloop  # cheaper per request than asyncio's own loop, when installed

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    print(json.dumps(asyncio.run(run(spec))))


if __name__ == "__main__":
    main()
