"""Row ids taken from a PostgreSQL sequence in blocks, so a new row's id is known
without a flush (an INSERT and a round trip per row, with everything else pending).

The pipeline needs a new enrollment's and message's id at once (they name the
messages, timers and idempotency keys that follow); on PostgreSQL it takes them from
the table's sequence, a block at a time, and the rows are inserted together at the next
flush. SQLite has no sequence: there the caller flushes, as before (in process, a
flush costs no round trip).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

BLOCK = 100  # ids taken at once; unused ones are skipped (ids need not be dense)


class Ids:
    """Ids for the rows one transaction inserts, by table (PostgreSQL only)."""

    def __init__(self) -> None:
        self._free: dict[str, list[int]] = {}

    def take(self, conn: Connection, table: str) -> int | None:
        """A new id for a row of ``table``; None on a database without sequences."""
        if conn.dialect.name != "postgresql":
            return None
        free = self._free.get(table)
        if not free:
            rows = conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": table, "n": BLOCK},
            )
            free = self._free[table] = sorted((int(r[0]) for r in rows), reverse=True)
        return free.pop()
