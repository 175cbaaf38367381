"""A journey's state machine drawn as inline SVG: states as boxes in layers from the
start state down, transitions as arrows labelled with what fires them (an event, a
timer such as "after 3d", a branch condition, a split share).

A pure function of the spec (no JavaScript, no other host): the page embeds the string.
Every text is XML-escaped; names come from uploaded files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from html import escape
from typing import Any

from automation.journeys.definition import JourneySpec, StateSpec, TimerSpec

BOX_H = 46
GAP_X = 48
GAP_Y = 78  # at least; more when a state has many arrows (a label line each)
LABEL_STEP = 16
MARGIN = 24
BACK_BULGE = 70  # how far an arrow to an earlier layer swings out to the right


@dataclass(frozen=True)
class Edge:
    """One arrow: every trigger from ``source`` to ``target``, labels joined."""

    source: str
    target: str
    labels: tuple[str, ...]

    @property
    def label(self) -> str:
        return " / ".join(self.labels)


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2


def transitions(spec: JourneySpec) -> list[Edge]:
    """Every transition of ``spec`` as (from, to, what fires it), in file order."""
    found: dict[tuple[str, str], list[str]] = {}
    for state in spec.states.values():
        for source, target, label in _state_edges(state):
            found.setdefault((source, target), []).append(label)
    return [Edge(s, t, tuple(labels)) for (s, t), labels in found.items()]


def journey_svg(spec: JourneySpec, counts: dict[str, int] | None = None) -> str:
    """The state machine of ``spec`` as an ``<svg>`` element; ``counts`` (customers per
    state) are printed in the boxes."""
    counts = counts or {}
    layers = _layers(spec)
    edges = transitions(spec)
    most = max([sum(e.source == name for e in edges) for name in spec.states] + [1])
    # Room under a state for each of its labels, a line each, and for the arrows to bend.
    gap_y = max(GAP_Y, 30 + most * LABEL_STEP)
    boxes = _place(spec, layers, counts, gap_y)
    width = max(b.x + b.w for b in boxes.values()) + MARGIN + BACK_BULGE * 2
    height = max(b.y for b in boxes.values()) + BOX_H + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="journey-diagram" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'aria-labelledby="diagram-title" data-testid="journey-diagram">',
        f'<title id="diagram-title">{escape(spec.name)}: 상태 {len(spec.states)}개, '
        f"전이 {len(edges)}개 (states and transitions)</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" class="arrow-head"/></marker></defs>',
    ]
    layer_of = {name: i for i, names in enumerate(layers) for name in names}
    parts += _edges(edges, boxes, layer_of, gap_y)
    parts += [_state(spec, name, boxes[name], counts.get(name)) for name in boxes]
    parts.append("</svg>")
    return "\n".join(parts)


def describe_timer(timer: TimerSpec) -> str:
    """``after 3d`` / ``at policy.maturity_date −20d 10:00``."""
    if timer.kind == "after" and timer.wait is not None:
        hours = " (business hours)" if timer.business_hours else ""
        return f"after {_span(timer.wait)}{hours}"
    offset = ""
    if timer.offset:
        sign = "−" if timer.offset < timedelta(0) else "+"
        offset = f" {sign}{_span(abs(timer.offset))}"
    return f"at {timer.date_field}{offset} {timer.at_time:%H:%M}"


def _state_edges(state: StateSpec) -> list[tuple[str, str, str]]:
    edges = []
    for rule in state.on:
        when = " (if …)" if rule.when.fields else ""
        edges.append((state.name, rule.to, "on " + ", ".join(rule.events) + when))
    edges += [(state.name, t.to, describe_timer(t)) for t in state.timers]
    edges += [
        (state.name, b.to, "else" if b.when is None else "if " + ", ".join(sorted(b.when.fields)))
        for b in state.branch
    ]
    edges += [
        (state.name, a.to, f"{a.share}%" + (" control" if a.control else "")) for a in state.split
    ]
    return edges


def _span(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _layers(spec: JourneySpec) -> list[list[str]]:
    """Longest-path layers over the graph without its cycles' closing arrows, so every
    other arrow points down; within a layer, states sit under their predecessors;
    states the start cannot reach come last."""
    graph = {
        name: [t for t in dict.fromkeys(state.targets()) if t in spec.states]
        for name, state in spec.states.items()
    }
    finished: list[str] = []
    back: set[tuple[str, str]] = set()
    _depth_first(spec.start, graph, [], set(), finished, back)
    depth = dict.fromkeys(finished, 0)
    for name in reversed(finished):  # a topological order of the graph without ``back``
        for target in graph[name]:
            if (name, target) not in back:
                depth[target] = max(depth[target], depth[name] + 1)
    layers: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for name in spec.states:
        if name in depth:
            layers[depth[name]].append(name)
    lost = [name for name in spec.states if name not in depth]
    if lost:
        layers.append(lost)
    return _untangle(layers, graph)


def _depth_first(
    name: str,
    graph: dict[str, list[str]],
    path: list[str],
    seen: set[str],
    finished: list[str],
    back: set[tuple[str, str]],
) -> None:
    seen.add(name)
    path.append(name)
    for target in graph[name]:
        if target in path:
            back.add((name, target))  # closes a cycle: drawn going up
        elif target not in seen:
            _depth_first(target, graph, path, seen, finished, back)
    path.pop()
    finished.append(name)


def _untangle(layers: list[list[str]], graph: dict[str, list[str]]) -> list[list[str]]:
    """Order each layer by where its states' predecessors sit (fewer crossings)."""
    where: dict[str, float] = {}
    ordered = []
    for names in layers:
        keyed = []
        for index, name in enumerate(names):
            above = [where[p] for p, targets in graph.items() if name in targets and p in where]
            keyed.append((sum(above) / len(above) if above else 0.5, index, name))
        row = [name for _, _, name in sorted(keyed)]
        where |= {name: (i + 0.5) / len(row) for i, name in enumerate(row)}
        ordered.append(row)
    return ordered


def _width(name: str, count: int | None) -> float:
    # Latin at ~7.6px a character at 13px; wide (Hangul) characters at ~13px.
    chars = sum(13 if ord(c) > 0x2E80 else 7.6 for c in name)
    return max(110.0, chars + 28, 0.0 if count is None else 96.0)


def _place(
    spec: JourneySpec, layers: list[list[str]], counts: dict[str, int], gap_y: float
) -> dict[str, _Box]:
    widths = {name: _width(name, counts.get(name)) for name in spec.states}
    rows = [sum(widths[n] for n in names) + GAP_X * (len(names) - 1) for names in layers]
    full = max(rows)
    boxes: dict[str, _Box] = {}
    for i, names in enumerate(layers):
        x = MARGIN + (full - rows[i]) / 2  # centre each layer
        y = MARGIN + i * (BOX_H + gap_y)
        for name in names:
            boxes[name] = _Box(x, y, widths[name])
            x += widths[name] + GAP_X
    return boxes


def _state(spec: JourneySpec, name: str, box: _Box, count: int | None) -> str:
    state = spec.states[name]
    kind = "start" if name == spec.start else "end" if state.end else "step"
    actions = ", ".join(a.kind for a in state.actions)
    tip = f"{name}: {actions}" if actions else name
    lines = [
        f'<g class="state {kind}" data-state="{escape(name)}"><title>{escape(tip)}</title>',
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{BOX_H}" '
        f'rx="{BOX_H / 2 if state.end else 6}"/>',
        f'<text x="{box.cx:.1f}" y="{box.y + 19:.1f}" text-anchor="middle" '
        f'class="state-name">{escape(name)}</text>',
    ]
    detail = actions or ("end" if state.end else "")
    if count is not None:
        detail = f"{detail} · {count:,}명" if detail else f"{count:,}명"
    if detail:
        lines.append(
            f'<text x="{box.cx:.1f}" y="{box.y + 36:.1f}" text-anchor="middle" '
            f'class="state-detail">{escape(detail)}</text>'
        )
    lines.append("</g>")
    return "\n".join(lines)


def _edges(
    edges: list[Edge], boxes: dict[str, _Box], layer_of: dict[str, int], gap_y: float
) -> list[str]:
    """Every arrow: down ones leave the bottom of their state spread out (by where they
    go) and enter the top of theirs spread out (by where they come from), each label a
    line lower than the last of its state's, so labels of one state never overlap; an
    arrow past a layer takes a lane right of it; arrows closing a cycle go up the right."""
    drawn = [e for e in edges if e.source in boxes and e.target in boxes]
    down = [e for e in drawn if layer_of[e.target] > layer_of[e.source]]
    outs = _ports(down, boxes, leaving=True)
    ins = _ports(down, boxes, leaving=False)
    parts = []
    lanes = 0
    for edge in down:
        (x1, k), (x2, _) = outs[edge], ins[edge]
        y1, y2 = boxes[edge.source].y + BOX_H, boxes[edge.target].y
        ly = y1 + 14 + k * LABEL_STEP
        if layer_of[edge.target] - layer_of[edge.source] == 1:
            mid = (y1 + y2) / 2
            path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"
            lx = _x_at(ly, (x1, y1), (x1, mid), (x2, mid), (x2, y2))
        else:  # past other layers: down a lane right of their states, not through them
            between = range(layer_of[edge.source] + 1, layer_of[edge.target])
            lane = 14 * lanes + GAP_X / 2
            lane += max(b.x + b.w for n, b in boxes.items() if layer_of[n] in between)
            lanes += 1
            top, bottom, bend = y1 + gap_y * 0.8, y2 - gap_y * 0.8, gap_y * 0.4
            path = (
                f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {lane:.1f},{y1 + bend:.1f} "
                f"{lane:.1f},{top:.1f} L{lane:.1f},{bottom:.1f} C{lane:.1f},{y2 - bend:.1f} "
                f"{x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2:.1f}"
            )
            ly = min(ly, top)
            lx = _x_at(ly, (x1, y1), (x1, y1 + bend), (lane, y1 + bend), (lane, top))
        parts.append(_group(edge, path, _label(edge.label, lx, ly + 4)))
    right = max(b.x + b.w for b in boxes.values())
    for k, edge in enumerate(e for e in drawn if e not in down):
        source, target = boxes[edge.source], boxes[edge.target]
        x1, y1 = source.x + source.w, source.y + BOX_H / 2
        x2, y2 = target.x + target.w, target.y + BOX_H / 2 + 8
        out = right + BACK_BULGE * 0.6 + k * 18
        path = f"M{x1:.1f},{y1:.1f} C{out:.1f},{y1:.1f} {out:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        lx = (x1 + x2) / 8 + out * 0.75  # the curve's far point, at t = 1/2
        parts.append(_group(edge, path, _label(edge.label, lx, (y1 + y2) / 2)))
    return parts


def _ports(
    edges: list[Edge], boxes: dict[str, _Box], *, leaving: bool
) -> dict[Edge, tuple[float, int]]:
    """Where each arrow leaves (or enters) its box, and its rank among that box's."""
    by_box: dict[str, list[Edge]] = {}
    for edge in edges:
        by_box.setdefault(edge.source if leaving else edge.target, []).append(edge)
    found = {}
    for name, group in by_box.items():
        box = boxes[name]
        group.sort(key=lambda e: boxes[e.target if leaving else e.source].cx)
        for k, edge in enumerate(group):
            found[edge] = (box.x + box.w * (k + 1) / (len(group) + 1), k)
    return found


def _x_at(y: float, *points: tuple[float, float]) -> float:
    """x where the cubic through ``points`` (rising in y) reaches ``y``, by bisection."""
    low, high = 0.0, 1.0
    for _ in range(30):
        t = (low + high) / 2
        if _cubic(t, [p[1] for p in points]) < y:
            low = t
        else:
            high = t
    return _cubic(low, [p[0] for p in points])


def _cubic(t: float, v: list[float]) -> float:
    u = 1 - t
    return u**3 * v[0] + 3 * u * u * t * v[1] + 3 * u * t * t * v[2] + t**3 * v[3]


def _group(edge: Edge, path: str, label: str) -> str:
    return (
        f'<g class="transition" data-from="{escape(edge.source)}" data-to="{escape(edge.target)}">'
        f"<title>{escape(edge.source)} → {escape(edge.target)}: {escape(edge.label)}</title>"
        f'<path d="{path}" marker-end="url(#arrow)"/>{label}</g>'
    )


def _label(text: str, x: float, y: float) -> str:
    width = sum(11 if ord(c) > 0x2E80 else 6.2 for c in text) + 8
    return (
        f'<rect class="label-bg" x="{x - width / 2:.1f}" y="{y - 11:.1f}" '
        f'width="{width:.1f}" height="15" rx="3"/>'
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" class="label">{escape(text)}</text>'
    )


def legend(spec: JourneySpec) -> list[dict[str, Any]]:
    """The journey-wide rules the boxes do not show: entry, goal and exits."""
    rows: list[dict[str, Any]] = [
        {"kind": "진입 entry", "events": ", ".join(spec.entry.events), "to": spec.start}
    ]
    if spec.goal is not None:
        rows.append({"kind": "목표 goal", "events": ", ".join(spec.goal.events), "to": "converted"})
    rows += [
        {"kind": "이탈 exit", "events": ", ".join(r.events), "to": "exited"} for r in spec.exits
    ]
    return rows
