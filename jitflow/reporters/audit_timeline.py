"""The audit report's timeline: inline SVG, one lane per resource, readable from 1 to 10,000+
grants. Pure.

Few grants: one bar per grant from issue to end (overlaps stacked in tracks). Many grants
(or too many overlapping in a lane): the period is cut into calendar buckets (hours, days,
weeks, months, quarters or years, about 60 of them) and each lane shows, per bucket, a column
of the grants issued in it, split by outcome. Axis labels always carry the year, and grants
that `audit verify` flagged are drawn in red in either mode.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

from jitflow.core.audit_rows import AuditRow, Outcome, format_time

COLOURS = {
    Outcome.ACTIVE: "#16a34a",
    Outcome.WAITING: "#94a3b8",
    Outcome.EXPIRED: "#2563eb",
    Outcome.REVOKED: "#d97706",
    Outcome.DENIED: "#64748b",
    Outcome.FAILED: "#7c3aed",
    Outcome.EXTENDED: "#0891b2",
}
FLAGGED = "#dc2626"
CHART_WIDTH, LABEL_WIDTH, TRACK_HEIGHT, LANE_GAP, AXIS_HEIGHT = 1160, 230, 18, 12, 30
BUCKET_LANE_HEIGHT = 44
MAX_BARS, MAX_TRACKS, MAX_LANES, TARGET_BUCKETS = 200, 16, 24, 60
OTHER_LANE = "(other resources)"
PLOT_WIDTH = CHART_WIDTH - LABEL_WIDTH - 16


@dataclass(frozen=True)
class _Scale:
    first: datetime
    last: datetime

    def x(self, moment: datetime) -> float:
        span = max(self.last - self.first, timedelta(hours=1))
        return LABEL_WIDTH + PLOT_WIDTH * ((moment - self.first) / span)


# -- calendar steps -------------------------------------------------------------------------


def _floor_month(moment: datetime, months: int) -> datetime:
    index = (moment.year * 12 + moment.month - 1) // months * months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1, day=1)


@dataclass(frozen=True)
class _Step:
    name: str
    approx: timedelta
    floor: Callable[[datetime], datetime]
    advance: Callable[[datetime], datetime]
    label: str  # strftime; every label carries the year


def _fixed(name: str, size: timedelta, label: str) -> _Step:
    def floor(moment: datetime) -> datetime:
        base = datetime(moment.year, 1, 1, tzinfo=UTC)
        if size >= timedelta(days=7):  # weeks start on Monday
            base = datetime(2000, 1, 3, tzinfo=UTC)
        return base + ((moment - base) // size) * size

    return _Step(name, size, floor, lambda m: m + size, label)


def _monthly(name: str, months: int, label: str) -> _Step:
    return _Step(
        name,
        timedelta(days=30.44 * months),
        lambda m: _floor_month(m, months),
        lambda m: _add_months(m, months),
        label,
    )


STEPS = (
    _fixed("hour", timedelta(hours=1), "%d %b %Y %H:%M"),
    _fixed("6 hours", timedelta(hours=6), "%d %b %Y %H:%M"),
    _fixed("day", timedelta(days=1), "%d %b %Y"),
    _fixed("week", timedelta(days=7), "%d %b %Y"),
    _monthly("month", 1, "%b %Y"),
    _monthly("quarter", 3, "%b %Y"),
    _monthly("year", 12, "%Y"),
)


def plotted_span(row: AuditRow, now: datetime) -> tuple[datetime, datetime]:
    """The part of a grant's life up to `now`: a record claiming expiry in 2099 must not
    stretch the axis over 70 years (its row says when it expires)."""
    start, end = row.span(now) or (now, now)
    return start, min(end, max(now, start))


def step_for(span: timedelta, count: int) -> _Step:
    """The finest calendar step that cuts `span` into at most `count` pieces."""
    for step in STEPS:
        if span / step.approx <= count:
            return step
    years = math.ceil(span / STEPS[-1].approx / count)
    return _monthly(f"{years} years", 12 * years, "%Y")


def _ticks(scale: _Scale, bottom: float) -> str:
    step = step_for(scale.last - scale.first, 8)
    parts: list[str] = []
    tick = step.floor(scale.first)
    while tick <= scale.last:
        x = scale.x(tick)
        if tick >= scale.first and x < CHART_WIDTH - 50:
            parts.append(
                f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{AXIS_HEIGHT - 6}" '
                f'y2="{bottom:.0f}"/><text class="tick" x="{x:.1f}" y="{AXIS_HEIGHT - 12}" '
                f'text-anchor="middle">{tick.strftime(step.label)}</text>'
            )
        tick = step.advance(tick)
    return "".join(parts)


# -- lanes --------------------------------------------------------------------------------


def _lanes(rows: Sequence[AuditRow]) -> dict[str, list[AuditRow]]:
    """Rows by resource; past MAX_LANES the smallest lanes are folded into one."""
    lanes: dict[str, list[AuditRow]] = defaultdict(list)
    for row in rows:
        lanes[row.resource or row.policy].append(row)
    if len(lanes) <= MAX_LANES:
        return dict(sorted(lanes.items()))
    ranked = sorted(lanes, key=lambda name: (-len(lanes[name]), name))
    kept = {name: lanes[name] for name in sorted(ranked[: MAX_LANES - 1])}
    kept[OTHER_LANE] = [row for name in ranked[MAX_LANES - 1 :] for row in lanes[name]]
    return kept


def _tracks(rows: Sequence[AuditRow], now: datetime) -> list[list[AuditRow]]:
    """Pack a lane's grants into tracks so overlapping bars don't hide each other."""
    tracks: list[list[AuditRow]] = []
    ends: list[datetime] = []
    for row in sorted(rows, key=lambda r: plotted_span(r, now)):
        start, end = plotted_span(row, now)
        for index, last_end in enumerate(ends):
            if last_end <= start:
                tracks[index].append(row)
                ends[index] = end
                break
        else:
            tracks.append([row])
            ends.append(end)
    return tracks


def _tooltip(row: AuditRow, flagged: bool) -> str:
    lines = [
        f"{row.id}{'  -- FLAGGED BY AUDIT VERIFY' if flagged else ''}",
        f"{row.requester} via {row.policy} ({row.outcome.value})",
        f"issued {format_time(row.issued_at)} - ended {format_time(row.ended_at) or 'not yet'}",
        f"approved by {', '.join(row.approvers) or 'nobody'}",
        f"reason: {row.reason}",
    ]
    return "\n".join(lines)


def data_attrs(row: AuditRow, flagged: bool) -> str:
    """What the report's filters select on."""
    return (
        f' data-row="1" data-requester="{escape(row.requester)}" '
        f'data-policy="{escape(row.policy)}" data-outcome="{row.outcome.value}" '
        f'data-flagged="{"yes" if flagged else "no"}"'
    )


def _lane_label(name: str, rows: Sequence[AuditRow], y: float, height: float) -> str:
    kinds = sorted({r.kind for r in rows if r.kind})
    sub = f"{len(rows)} grant(s) · {', '.join(kinds)}" if kinds else f"{len(rows)} grant(s)"
    return (
        f'<rect class="lane" x="{LABEL_WIDTH}" y="{y}" width="{PLOT_WIDTH}" '
        f'height="{height}" rx="6"/><text class="lane-label" x="{LABEL_WIDTH - 12}" '
        f'y="{y + height / 2 - 1:.1f}" text-anchor="end">{escape(name[:34])}</text>'
        f'<text class="tick" x="{LABEL_WIDTH - 12}" y="{y + height / 2 + 12:.1f}" '
        f'text-anchor="end">{escape(sub)}</text>'
    )


def _bars(
    lanes: dict[str, list[AuditRow]], scale: _Scale, now: datetime, flagged: Collection[str]
) -> tuple[list[str], float]:
    parts: list[str] = []
    y: float = AXIS_HEIGHT
    for name, rows in lanes.items():
        tracks = _tracks(rows, now)
        height = len(tracks) * (TRACK_HEIGHT + 4) + 8
        parts.append(_lane_label(name, rows, y, height))
        for index, track in enumerate(tracks):
            top = y + 6 + index * (TRACK_HEIGHT + 4)
            for row in track:
                start, end = plotted_span(row, now)
                left = scale.x(start)
                width = max(scale.x(end) - left, 4.0)
                bad = row.id in flagged
                colour = FLAGGED if bad else COLOURS[row.outcome]
                parts.append(
                    f'<rect class="bar{" flagged" if bad else ""}"{data_attrs(row, bad)} '
                    f'x="{left:.1f}" y="{top}" width="{width:.1f}" height="{TRACK_HEIGHT}" '
                    f'rx="3" fill="{colour}"><title>{escape(_tooltip(row, bad))}</title></rect>'
                )
        y += height + LANE_GAP
    return parts, y


def _columns(
    lanes: dict[str, list[AuditRow]], scale: _Scale, now: datetime, flagged: Collection[str]
) -> tuple[list[str], float, str]:
    step = step_for(scale.last - scale.first, TARGET_BUCKETS)
    parts: list[str] = []
    y: float = AXIS_HEIGHT
    for name, rows in lanes.items():
        buckets: dict[datetime, Counter[str]] = defaultdict(Counter)
        for row in rows:
            start = plotted_span(row, now)[0]
            key = "flagged" if row.id in flagged else row.outcome.value
            buckets[step.floor(start)][key] += 1
        peak = max(sum(c.values()) for c in buckets.values())
        height = BUCKET_LANE_HEIGHT
        parts.append(_lane_label(name, rows, y, height))
        for bucket, counts in sorted(buckets.items()):
            left = scale.x(max(bucket, scale.first))
            width = max(scale.x(min(step.advance(bucket), scale.last)) - left - 1, 2.0)
            base = y + height - 4
            total = sum(counts.values())
            summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            label = f"{bucket.strftime(step.label)} ({step.name}): {total} grant(s): {summary}"
            parts.append(f"<g><title>{escape(label)}</title>")
            for key in ["flagged", *(o.value for o in Outcome)]:
                if not counts[key]:
                    continue
                tall = max((height - 8) * counts[key] / peak, 1.5)
                base -= tall
                colour = FLAGGED if key == "flagged" else COLOURS[Outcome(key)]
                parts.append(
                    f'<rect class="col{" flagged" if key == "flagged" else ""}" '
                    f'x="{left:.1f}" y="{base:.1f}" width="{width:.1f}" height="{tall:.1f}" '
                    f'fill="{colour}"/>'
                )
            parts.append("</g>")
        parts.extend(_flag_marks([r for r in rows if r.id in flagged], scale, now, y, height))
        y += height + LANE_GAP
    return parts, y, step.name


def _flag_marks(
    rows: Sequence[AuditRow], scale: _Scale, now: datetime, y: float, height: float
) -> list[str]:
    """A red pin across the lane at each flagged grant: one grant must not drown in a count."""
    marks = []
    for row in rows:
        x = scale.x(plotted_span(row, now)[0])
        marks.append(
            f'<g class="flag-mark"><title>{escape(_tooltip(row, True))}</title>'
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 2}" y2="{y + height + 2}" '
            f'stroke="{FLAGGED}" stroke-width="2.5"/>'
            f'<circle cx="{x:.1f}" cy="{y + 3}" r="5" fill="{FLAGGED}"/></g>'
        )
    return marks


def render_timeline(
    rows: Sequence[AuditRow], now: datetime, flagged: Collection[str] = ()
) -> tuple[str, str]:
    """The SVG and a one-line note saying how to read it."""
    granted = [r for r in rows if r.issued_at is not None]
    if not granted:
        return '<p class="muted">No grants were issued in this period.</p>', ""
    spans = [plotted_span(r, now) for r in granted]
    scale = _Scale(min(s[0] for s in spans), max(s[1] for s in spans))
    lanes = _lanes(granted)
    crowded = len(granted) > MAX_BARS or any(
        len(_tracks(lane, now)) > MAX_TRACKS for lane in lanes.values()
    )
    if crowded:
        parts, bottom, step = _columns(lanes, scale, now, flagged)
        note = (
            f"{len(granted)} grants, counted per {step} of issue (column height: grants issued "
            "in that period, relative to the lane's busiest); hover a column for its numbers."
        )
        mode = "buckets"
    else:
        parts, bottom = _bars(lanes, scale, now, flagged)
        note = f"{len(granted)} grant(s), one bar each from issue to end; hover for details."
        mode = "bars"
    svg = (
        f'<svg id="timeline" data-mode="{mode}" viewBox="0 0 {CHART_WIDTH} {bottom:.0f}" '
        f'role="img" aria-label="Grants per resource over time">'
        f"{_ticks(scale, bottom - LANE_GAP)}{''.join(parts)}</svg>"
    )
    return svg, note
