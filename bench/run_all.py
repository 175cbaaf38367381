"""Run every bench (``bench/[!_]*.py``) in turn, each in its own process with the same
arguments, and end with one table: each headline figure beside its bare baseline (the
ratio), its target and a verdict.

Run::

    python bench/run_all.py            # each bench at its default size
    python bench/run_all.py --quick    # each bench at its small size: a few minutes, CI
    python bench/run_all.py --only ingest,reports --size 20000   # some of them

A bench's output goes through as it comes; its last line must be its JSON object. The
exit status is 1 when a bench crashed (a non-zero exit, or no JSON line): a missed
target is not a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Row:
    """One headline figure of a bench's JSON line and how it is judged."""

    figure: str  # what the row shows, baseline named
    value: str  # JSON key of the engine's figure
    unit: str  # "/s", " s" or "" (a count)
    baseline: tuple[str, ...] = ()  # JSON key(s) of the bare baseline's figure (summed)
    ratio: str | None = None  # JSON key of the ratio (engine/baseline, as the bench has it)
    limit: float | None = None  # the target; None: no target
    judged: str = "ratio"  # "ratio" or "value": what the limit applies to
    at_least: bool = False  # the target is ≥ limit (rates); else ≤ limit (times, counts)
    full_size: int = 0  # the target means something only at this JSON "size" or more


# The targets, from our issues (issue 21, item 5, collects them); the benches print the
# same verdicts where they have them.
TARGETS: dict[str, list[Row]] = {
    # ingest: no numeric target for the ratio to bare COPY, it is shown (issue 21, item 5);
    # the absolute ≥ 10,000 events/s is in bench/README.md.
    "ingest": [
        Row("HTTP events/s vs bare COPY", "http_events_per_s", "/s",
            ("baseline_copy_events_per_s",), "ratio"),
    ],
    # journeys: with 2 processes ≥ 0.75 of the bare psycopg baseline (issue 21).
    "journeys": [
        Row("transitions/s, {parallel_processes} processes vs bare psycopg",
            "parallel_transitions_per_s", "/s", ("baseline_transitions_per_s",),
            "parallel_ratio", 0.75, at_least=True),
        # sign-ups that enter the shipped journeys and decide a welcome e-mail: ≥ 1,000
        # events/s processed (issue 21, item 4), one process.
        Row("sign-ups deciding a message, events/s", "signups_events_per_s", "/s",
            limit=1000.0, judged="value", at_least=True),
    ],
    # delivery: e-mail ≥ 0.8 of the raw client, ≤ 1 SQL statement per message amortised
    # (the delivery issue; bench/delivery.py's TARGET_RATIO, TARGET_STATEMENTS).
    "delivery": [
        Row("e-mail messages/s vs bare aiosmtplib", "email_rate", "/s",
            ("email_raw_rate",), "ratio", 0.8, at_least=True),
        Row("SQL statements per e-mail", "statements_per_message", "", limit=1.0,
            judged="value"),
        Row("SMS messages/s vs bare httpx", "sms_rate", "/s", ("sms_raw_rate",), "sms_ratio"),
    ],
    # reports: the funnel ≤ 1 s over 10,000,000 events (the reports issue;
    # bench/reports.py's TARGET_SECONDS); the web log of a group ≤ 2× its plain query.
    "reports": [
        Row("funnel report vs plain SQL", "funnel_seconds", " s", ("baseline_seconds",),
            "ratio", 1.0, judged="value", full_size=10_000_000),
        Row("web log of a group vs plain SQL", "weblog_seconds", " s",
            ("baseline_weblog_seconds",), "weblog_ratio", 2.0),
    ],
    # scheduler: the timers job ≤ 1.3× its bare COPY + UPDATE baseline (issue 21).
    "scheduler": [
        Row("timers job vs bare COPY + UPDATE", "timers_seconds", " s",
            ("baseline_timers_seconds",), "timers_ratio", 1.3),
    ],
    # pipeline: production mode end to end, sign-up -> welcome mail lag p99 <= 2 s under
    # 500 events/s (issue 21, item 3), with the most worker processes it ran.
    "pipeline": [
        Row("sign-up -> welcome mail lag p99, s", "lag_p99_s", " s", limit=2.0, judged="value"),
        Row("events/s processed vs plain ingest", "best_processed_events_per_s", "/s",
            ("baseline_ingest_events_per_s",), "ratio"),
    ],
    # segments: the history-condition first fill ≤ 1.5× its baseline (issue 21): the
    # baseline writing the same rows, members then history (history_rows_ratio).
    "segments": [
        Row("history-condition first fill vs bare INSERTs", "history_seconds", " s",
            ("baseline_history_seconds", "baseline_history_rows_seconds"),
            "history_rows_ratio", 1.5),
    ],
    # personalize: GET /v1/personalize p99 <= 25 ms at 300 requests/s with 100,000
    # customers on 2 cores, no error (the personalization issue's bench); /healthz on
    # the same server is the baseline (ratio = known p99 / healthz p99).
    "personalize": [
        Row("/v1/personalize p99 ms, known customers vs /healthz", "known_p99_ms", " ms",
            ("healthz_p99_ms",), "ratio", 25.0, judged="value", full_size=100_000),
    ],
}  # fmt: skip


@dataclass(slots=True)
class Result:
    """One bench's run: its exit status, wall time and JSON line (None: none printed)."""

    name: str
    returncode: int
    seconds: float
    figures: dict[str, Any] | None

    @property
    def crashed(self) -> bool:
        return self.returncode != 0 or self.figures is None


def benches(only: str) -> list[Path]:
    """The bench scripts, or those named in ``only`` (comma-separated)."""
    found = sorted(p for p in BENCH.glob("[!_]*.py") if p.name != Path(__file__).name)
    if not only:
        return found
    names = {name.strip().removesuffix(".py") for name in only.split(",") if name.strip()}
    unknown = names - {p.stem for p in found}
    if unknown:
        sys.exit(f"bench/run_all.py: no bench named {', '.join(sorted(unknown))}")
    return [p for p in found if p.stem in names]


def last_json(lines: list[str]) -> dict[str, Any] | None:
    """The last non-empty line, if it is a JSON object."""
    text = next((line for line in reversed(lines) if line.strip()), "")
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def run_bench(path: Path, args: list[str]) -> Result:
    """Run one bench, its output passed through as it comes; keep its last JSON line."""
    print(f"== bench/{path.name} {' '.join(args)}".rstrip(), flush=True)
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, str(path), *args], stdout=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    seconds = time.perf_counter() - started
    print(f"== bench/{path.name}: exit {proc.returncode} after {seconds:.1f} s", flush=True)
    return Result(path.stem, proc.returncode, seconds, last_json(lines))


def shown(value: Any, unit: str) -> str:
    if not isinstance(value, int | float):
        return "—" if value is None else str(value)
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == " s":
        return f"{value:.3f} s"
    return f"{value:g}"


def size_text(size: Any) -> str:
    return f"{size:,}" if isinstance(size, int) else ""


def baseline(row: Row, figures: dict[str, Any]) -> float | None:
    values = [figures.get(key) for key in row.baseline]
    return None if not values or None in values else sum(values)


def verdict(row: Row, figures: dict[str, Any], quick: bool) -> str:
    judged = figures.get(row.value if row.judged == "value" else row.ratio or "")
    if row.limit is None:
        return "no target"
    if judged is None:
        return "not measured"
    if (figures.get("size") or 0) < row.full_size:
        return "n/a at quick size" if quick else "n/a below full size"
    meets = judged >= row.limit if row.at_least else judged <= row.limit
    return "meets" if meets else "misses"


def target_text(row: Row) -> str:
    if row.limit is None:
        return "—"
    sign = "≥" if row.at_least else "≤"
    if row.judged == "ratio":
        return f"{sign} {row.limit:g} × baseline"
    where = f" over {row.full_size:,}" if row.full_size else ""
    return f"{sign} {row.limit:g}{row.unit}{where}"


def table(results: list[Result], quick: bool) -> Table:
    out = Table(title=f"benchmarks{' (--quick)' if quick else ''}", box=box.SIMPLE_HEAD)
    for column in ("bench", "size", "figure", "engine", "baseline", "ratio", "target"):
        out.add_column(column, justify="right" if column in ("size", "ratio") else "left")
    out.add_column("verdict")
    for result in results:
        figures = result.figures
        if result.crashed or figures is None:
            why = f"exit {result.returncode}" if result.returncode else "no JSON line"
            out.add_row(result.name, "", "", "", "", "", "", f"CRASHED ({why})")
            continue
        rows = TARGETS.get(result.name) or [
            Row("its ratio (no row in TARGETS)", "", "", ratio="ratio")
        ]
        for row in rows:
            ratio = figures.get(row.ratio) if row.ratio else None
            out.add_row(
                result.name,
                size_text(figures.get("size")),
                row.figure.format_map(defaultdict(lambda: "N", figures)),
                shown(figures.get(row.value), row.unit),
                shown(baseline(row, figures), row.unit),
                f"{ratio:.2f}" if isinstance(ratio, int | float) else "—",
                target_text(row),
                verdict(row, figures, quick),
            )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--quick", action="store_true", help="each bench's small size (CI)")
    parser.add_argument("--only", default="", help="these benches (comma-separated names)")
    known, rest = parser.parse_known_args()
    args = (["--quick"] if known.quick else []) + rest
    started = time.perf_counter()
    results = [run_bench(path, args) for path in benches(known.only)]
    console = Console()
    if not console.is_terminal:
        console = Console(width=150)  # a pipe or a log: do not wrap at 80 columns
    console.print(table(results, known.quick))
    times = ", ".join(f"{r.name} {r.seconds:.0f} s" for r in results)
    console.print(f"{len(results)} benches in {time.perf_counter() - started:.0f} s ({times})")
    crashed = [r.name for r in results if r.crashed]
    if crashed:
        console.print(f"CRASHED: {', '.join(crashed)}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
