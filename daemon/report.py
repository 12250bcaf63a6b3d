"""``bouncewatch report``: one self-contained HTML page an operator would rather look at.

Three layers, each testable alone:

- queries: small typed functions, one GROUP BY each, that read what the page shows
  (failures per day by reason and hard/transient, the top failing recipient domains, the
  newest suppressions, a few totals) into frozen dataclasses — ``report_data``;
- rendering: ``render_html(data) -> str``, pure. Charts are SVG drawn here, styles are
  inline, nothing is fetched (a Content-Security-Policy forbids it besides), and every value
  from the database is escaped: addresses and diagnostics are attacker-controlled;
- writing: ``write_report`` renders and writes the file atomically; the nightly export
  job writes ``report.html`` beside the suppression list.
"""
from __future__ import annotations

import argparse
import html
import math
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine, String, and_, case, distinct, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from classifiers import Kind

from .config import Config
from .export import write_atomic
from .models import Address, AddressState, Message, Outcome

REPORT_NAME = "report.html"       # the file the nightly export writes beside the list
DEFAULT_DAYS = 30
MAX_DAYS = 3660
TOP_REASONS = 8                   # reasons with a colour of their own; the rest is "other"
TOP_DOMAINS = 15
NEWEST_SUPPRESSIONS = 25
DIAGNOSTIC_CHARS = 160            # shown in the table; the full text is in the tooltip
#: Per-recipient actions that are not a failure even inside a bounce (see policy.effect_of).
NOT_FAILED_ACTIONS = ("delivered", "relayed", "expanded", "delayed")


# --- SQL helpers: the two expressions that differ between SQLite and PostgreSQL ------------

class utc_day(FunctionElement[str]):
    """The UTC calendar day of a timestamp column as ``YYYY-MM-DD``."""

    type = String()
    inherit_cache = True


@compiles(utc_day)
def _utc_day_sqlite(element: utc_day, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"   # stored as naive UTC text


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: Any, **kw: Any) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


class domain_of(FunctionElement[str]):
    """The part of an address after its last ``@``."""

    type = String()
    inherit_cache = True


@compiles(domain_of)
def _domain_of_sqlite(element: domain_of, compiler: Any, **kw: Any) -> str:
    x = compiler.process(element.clauses, **kw)
    # rtrim(x, <every character of x but '@'>) keeps x up to and including its last '@'
    return f"substr({x}, length(rtrim({x}, replace({x}, '@', ''))) + 1)"


@compiles(domain_of, "postgresql")
def _domain_of_postgresql(element: domain_of, compiler: Any, **kw: Any) -> str:
    return f"regexp_replace({compiler.process(element.clauses, **kw)}, '^.*@', '')"


# --- the data ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, order=True)
class DayCount:
    """Failed recipients on one UTC day (by the NDR's date) with one reason and verdict."""

    day: date
    reason: str
    hard: bool
    count: int


@dataclass(frozen=True, slots=True)
class DomainCount:
    domain: str
    hard: int
    transient: int
    addresses: int        # distinct recipients

    @property
    def failures(self) -> int:
        return self.hard + self.transient


@dataclass(frozen=True, slots=True)
class SuppressionRow:
    address: str
    reason: str
    status: str
    reply_code: str
    suppressed_at: datetime | None
    manual: bool
    bounce_count: int
    diagnostic: str       # what the server said in the NDR that caused it ("" if none)


@dataclass(frozen=True, slots=True)
class Totals:
    messages: int         # messages dated in the period
    failures: int
    hard: int
    suppressed: int       # suppressed now
    new_suppressions: int  # suppressed within the period


@dataclass(frozen=True, slots=True)
class ReportData:
    generated_at: datetime
    first_day: date
    last_day: date
    daily: tuple[DayCount, ...]
    domains: tuple[DomainCount, ...]
    suppressions: tuple[SuppressionRow, ...]
    totals: Totals

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(n) for n in range((self.last_day - self.first_day).days + 1)]


# --- queries -------------------------------------------------------------------------------

def period_start(now: datetime, days: int) -> datetime:
    """Midnight UTC at the start of the last ``days`` days (today included)."""
    first = now.astimezone(timezone.utc).date() - timedelta(days=days - 1)
    return datetime.combine(first, time(), tzinfo=timezone.utc)


def _failures_since(since: datetime) -> Any:
    """The WHERE clause of "a recipient that failed, in an NDR dated since ``since``"."""
    return and_(Message.received_at >= since, Message.kind == str(Kind.BOUNCE),
                func.lower(Outcome.action).not_in(NOT_FAILED_ACTIONS))


def daily_counts(session: Session, since: datetime) -> list[DayCount]:
    day = utc_day(Message.received_at)
    rows = session.execute(
        select(day, Outcome.reason, Outcome.hard, func.count())
        .select_from(Outcome).join(Message, Message.id == Outcome.message_pk)
        .where(_failures_since(since))
        .group_by(day, Outcome.reason, Outcome.hard))
    return sorted(DayCount(date.fromisoformat(d), reason, bool(hard), n) for d, reason, hard, n in rows)


def top_domains(session: Session, since: datetime, limit: int = TOP_DOMAINS) -> list[DomainCount]:
    domain = domain_of(Outcome.recipient)
    hard = func.sum(case((Outcome.hard.is_(True), 1), else_=0))
    rows = session.execute(
        select(domain, hard, func.count(), func.count(distinct(Outcome.recipient)))
        .select_from(Outcome).join(Message, Message.id == Outcome.message_pk)
        .where(_failures_since(since), Outcome.valid.is_(True))
        .group_by(domain).order_by(func.count().desc(), domain).limit(limit))
    return [DomainCount(d, int(h or 0), n - int(h or 0), a) for d, h, n, a in rows]


def newest_suppressions(session: Session, limit: int = NEWEST_SUPPRESSIONS) -> list[SuppressionRow]:
    cause = and_(Outcome.message_pk == Address.source_message_pk, Outcome.recipient == Address.address)
    rows = session.execute(
        select(Address.address, Address.reason, Address.status, Address.reply_code,
               Address.suppressed_at, Address.manual, Address.bounce_count, Outcome.diagnostic)
        .outerjoin(Outcome, cause)
        .where(Address.state == str(AddressState.SUPPRESSED))
        .order_by(Address.suppressed_at.desc().nulls_last(), Address.address).limit(limit))
    return [SuppressionRow(a, r, s, c, at, bool(m), n or 0, d or "") for a, r, s, c, at, m, n, d in rows]


def totals(session: Session, since: datetime, daily: Sequence[DayCount]) -> Totals:
    suppressed = Address.state == str(AddressState.SUPPRESSED)
    return Totals(
        messages=session.scalar(select(func.count(Message.id)).where(Message.received_at >= since)) or 0,
        failures=sum(d.count for d in daily),
        hard=sum(d.count for d in daily if d.hard),
        suppressed=session.scalar(select(func.count(Address.id)).where(suppressed)) or 0,
        new_suppressions=session.scalar(select(func.count(Address.id)).where(
            suppressed, Address.suppressed_at >= since)) or 0,
    )


def report_data(session: Session, days: int = DEFAULT_DAYS, now: datetime | None = None) -> ReportData:
    """Everything the page shows, for the last ``days`` days up to ``now``."""
    now = now or datetime.now(timezone.utc)
    since = period_start(now, days)
    daily = daily_counts(session, since)
    return ReportData(generated_at=now, first_day=since.date(), last_day=now.astimezone(timezone.utc).date(),
                      daily=tuple(daily), domains=tuple(top_domains(session, since)),
                      suppressions=tuple(newest_suppressions(session)),
                      totals=totals(session, since, daily))


# --- rendering: small helpers ---------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def esc(value: object) -> str:
    """Text safe inside an HTML/SVG element or a quoted attribute."""
    return html.escape(_CONTROL.sub("", str(value)), quote=True)


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def nice_ticks(maximum: int, count: int = 5) -> list[int]:
    """Round axis ticks from 0 to at least ``maximum`` (integers: these are counts)."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


#: Colours by reason; the dead-address reasons are reds, transient ones warm, the sender's
#: own problems blues and purples, so the stack reads at a glance.
REASON_COLOURS: dict[str, str] = {
    "userunknown": "#c0392b", "hostunknown": "#8e1b10", "hasmoved": "#e74c3c",
    "notaccept": "#6d0f0a", "mailboxfull": "#e67e22", "expired": "#f1c40f",
    "networkerror": "#d4a017", "systemerror": "#b9770e", "suspend": "#a04000",
    "blocked": "#2e86c1", "spamdetected": "#1f618d", "policyviolation": "#5dade2",
    "authfailure": "#7d3c98", "badreputation": "#af7ac5", "filtered": "#16a085",
    "rejected": "#117864", "mesgtoobig": "#48c9b0", "onhold": "#7f8c8d", "undefined": "#95a5a6",
}
SPARE_COLOURS = ("#27ae60", "#d35400", "#2c3e50", "#c71585", "#8d6e63", "#00838f", "#9e9d24", "#5d4037")
OTHER = "other"
OTHER_COLOUR = "#bdc3c7"
HARD_COLOUR = "#c0392b"
TRANSIENT_COLOUR = "#e67e22"


def reason_palette(daily: Iterable[DayCount], top: int = TOP_REASONS) -> dict[str, str]:
    """The ``top`` most frequent reasons with their colours (most frequent first), then "other"."""
    totals: dict[str, int] = defaultdict(int)
    for d in daily:
        totals[d.reason] += d.count
    ranked = sorted(totals, key=lambda r: (-totals[r], r))
    shown = ranked if len(ranked) <= top else ranked[:top - 1]
    spare = iter(SPARE_COLOURS)
    palette = {r: REASON_COLOURS.get(r) or next(spare, OTHER_COLOUR) for r in shown}
    if len(shown) < len(ranked):
        palette[OTHER] = OTHER_COLOUR
    return palette


# --- rendering: charts ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Frame:
    """A chart's size and the plot area inside it."""

    width: int = 900
    height: int = 280
    left: int = 48
    right: int = 12
    top: int = 12
    bottom: int = 34

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    def y(self, value: float, top_value: int) -> float:
        return self.top + self.plot_height * (1 - value / top_value)


def _svg(frame: Frame, label: str, body: Iterable[str]) -> str:
    return (f'<svg class="chart" viewBox="0 0 {frame.width} {frame.height}" role="img" '
            f'aria-label="{esc(label)}" preserveAspectRatio="xMidYMid meet">'
            + "".join(body) + "</svg>")


def _y_axis(frame: Frame, ticks: Sequence[int]) -> Iterator[str]:
    for t in ticks:
        y = frame.y(t, ticks[-1])
        yield (f'<line class="grid" x1="{frame.left}" x2="{frame.width - frame.right}" '
               f'y1="{y:.1f}" y2="{y:.1f}"/>'
               f'<text class="tick" x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end">{t}</text>')


def _x_labels(frame: Frame, days: Sequence[date], centre: Sequence[float]) -> Iterator[str]:
    every = max(1, math.ceil(len(days) / 12))
    for i in range(0, len(days), every):
        yield (f'<text class="tick" x="{centre[i]:.1f}" y="{frame.height - frame.bottom + 18}" '
               f'text-anchor="middle">{days[i]:%m-%d}</text>')


def _empty(frame: Frame, label: str) -> str:
    return _svg(frame, label, [f'<text class="empty" x="{frame.width / 2}" y="{frame.height / 2}" '
                               'text-anchor="middle">No failures in this period</text>'])


def stacked_bars(days: Sequence[date], series: dict[date, dict[str, int]],
                 palette: dict[str, str], label: str, frame: Frame = Frame()) -> str:
    """One bar per day, one segment per key of ``palette`` (bottom first), a tooltip each."""
    peak = max((sum(series.get(d, {}).values()) for d in days), default=0)
    if peak == 0:
        return _empty(frame, label)
    ticks = nice_ticks(peak)
    band = frame.plot_width / len(days)
    bar = max(1.0, band * 0.78)
    centres = [frame.left + band * (i + 0.5) for i in range(len(days))]
    body = list(_y_axis(frame, ticks))
    for day, x in zip(days, centres):
        base = 0
        for key, colour in palette.items():
            n = series.get(day, {}).get(key, 0)
            if not n:
                continue
            y0, y1 = frame.y(base, ticks[-1]), frame.y(base + n, ticks[-1])
            body.append(f'<rect x="{x - bar / 2:.1f}" y="{y1:.1f}" width="{bar:.1f}" '
                        f'height="{y0 - y1:.1f}" fill="{colour}">'
                        f'<title>{day:%Y-%m-%d} {esc(key)}: {n}</title></rect>')
            base += n
    body += _x_labels(frame, days, centres)
    body.append(f'<line class="axis" x1="{frame.left}" x2="{frame.width - frame.right}" '
                f'y1="{frame.y(0, ticks[-1]):.1f}" y2="{frame.y(0, ticks[-1]):.1f}"/>')
    return _svg(frame, label, body)


def lines(days: Sequence[date], series: dict[str, dict[date, int]], colours: dict[str, str],
          label: str, frame: Frame = Frame()) -> str:
    """One line (with a light area under it and a dot per day) per series."""
    peak = max((v for s in series.values() for v in s.values()), default=0)
    if peak == 0:
        return _empty(frame, label)
    ticks = nice_ticks(peak)
    step = frame.plot_width / max(1, len(days) - 1)
    xs = [frame.left + step * i if len(days) > 1 else frame.left + frame.plot_width / 2
          for i in range(len(days))]
    body = list(_y_axis(frame, ticks))
    base = frame.y(0, ticks[-1])
    for name, values in series.items():
        colour = colours[name]
        points = [(x, frame.y(values.get(d, 0), ticks[-1])) for x, d in zip(xs, days)]
        path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))
        body.append(f'<path d="{path} L{points[-1][0]:.1f},{base:.1f} L{points[0][0]:.1f},{base:.1f} Z" '
                    f'fill="{colour}" fill-opacity="0.12" stroke="none"/>')
        body.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2.5" '
                    'stroke-linejoin="round"/>')
        body += (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                 f'<title>{d:%Y-%m-%d} {esc(name)}: {values.get(d, 0)}</title></circle>'
                 for (x, y), d in zip(points, days))
    body += _x_labels(frame, days, xs)
    body.append(f'<line class="axis" x1="{frame.left}" x2="{frame.width - frame.right}" '
                f'y1="{base:.1f}" y2="{base:.1f}"/>')
    return _svg(frame, label, body)


def domain_bars(domains: Sequence[DomainCount], label: str, width: int = 900) -> str:
    """Horizontal bars, hard then transient, one row per domain, its name on the left."""
    row, name_width, count_width = 24, 240, 130
    frame = Frame(width=width, height=max(1, len(domains)) * row + 8, left=name_width,
                  right=count_width, top=4, bottom=4)
    peak = max((d.failures for d in domains), default=0)
    if peak == 0:
        return _empty(Frame(width=width, height=80), label)
    scale = frame.plot_width / peak
    body: list[str] = []
    for i, d in enumerate(domains):
        y = frame.top + i * row
        body.append(f'<text class="name" x="{name_width - 8}" y="{y + 16}" text-anchor="end">'
                    f'<title>{esc(d.domain)}</title>{esc(shorten(d.domain, 34))}</text>')
        x = float(name_width)
        for part, n, colour in (("hard", d.hard, HARD_COLOUR), ("transient", d.transient, TRANSIENT_COLOUR)):
            if n:
                body.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{n * scale:.1f}" height="{row - 8}" '
                            f'fill="{colour}"><title>{esc(d.domain)} {part}: {n}</title></rect>')
                x += n * scale
        body.append(f'<text class="tick" x="{x + 6:.1f}" y="{y + 16}">{d.failures} '
                    f'<tspan class="muted">({d.addresses} addr.)</tspan></text>')
    return _svg(frame, label, body)


def _legend(palette: dict[str, str]) -> str:
    return '<ul class="legend">' + "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{esc(name)}</li>'
        for name, colour in palette.items()) + "</ul>"


# --- rendering: the page -----------------------------------------------------------------------

def by_day_and_reason(daily: Iterable[DayCount], palette: dict[str, str]) -> dict[date, dict[str, int]]:
    out: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for d in daily:
        out[d.day][d.reason if d.reason in palette else OTHER] += d.count
    return out


def hard_and_transient(daily: Iterable[DayCount]) -> dict[str, dict[date, int]]:
    out: dict[str, dict[date, int]] = {"hard": defaultdict(int), "transient": defaultdict(int)}
    for d in daily:
        out["hard" if d.hard else "transient"][d.day] += d.count
    return out


def _when(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") if value else "–"


BY_HAND = ' <span class="tag">by hand</span>'


def _suppression_table(rows: Sequence[SuppressionRow]) -> str:
    if not rows:
        return '<p class="muted">No address is suppressed.</p>'
    head = "".join(f"<th>{h}</th>" for h in ("address", "reason", "status", "reply", "suppressed (UTC)",
                                             "bounces", "what the server said"))
    body = "".join(
        "<tr>"
        f'<td class="addr">{esc(r.address)}</td>'
        f"<td>{esc(r.reason or '–')}{BY_HAND if r.manual else ''}</td>"
        f"<td>{esc(r.status or '–')}</td><td>{esc(r.reply_code or '–')}</td>"
        f"<td>{_when(r.suppressed_at)}</td><td class=\"num\">{r.bounce_count}</td>"
        f'<td class="diag" title="{esc(r.diagnostic)}">{esc(shorten(r.diagnostic, DIAGNOSTIC_CHARS))}</td>'
        "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cards(t: Totals) -> str:
    cards = (("failed recipients", t.failures), ("hard", t.hard), ("transient", t.failures - t.hard),
             ("messages", t.messages), ("newly suppressed", t.new_suppressions),
             ("suppressed now", t.suppressed))
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="value">{v}</div><div class="label">{k}</div></div>'
        for k, v in cards) + "</div>"


STYLE = """
:root{--fg:#1d2327;--muted:#6b7780;--line:#e3e7ea;--bg:#fff;--panel:#f7f9fa}
*{box-sizing:border-box}
body{margin:0;padding:24px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",
"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:960px;margin:0 auto}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.muted,.sub{color:var(--muted)}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
.card{flex:1 1 130px;background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card .value{font-size:22px;font-weight:600}.card .label{color:var(--muted);font-size:12px}
section{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:14px 0}
section h2{margin-top:0}
svg.chart{width:100%;height:auto;display:block}
svg .grid{stroke:var(--line);stroke-width:1}svg .axis{stroke:#9aa5ad;stroke-width:1}
svg text{font:11px system-ui,sans-serif;fill:var(--muted)}
svg text.name{fill:var(--fg);font-size:12px}svg text.empty{font-size:14px}
svg .muted{fill:#9aa5ad}
.legend{list-style:none;padding:0;margin:8px 0 0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}
td.num{text-align:right}td.addr{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
td.diag{color:var(--muted);max-width:320px;overflow-wrap:anywhere}
.tag{font-size:11px;background:#eef2f4;border-radius:4px;padding:0 4px;margin-left:4px;color:var(--muted)}
footer{color:var(--muted);font-size:12px;margin-top:24px}
"""
#: Nothing may be loaded or run: only the inline styles are allowed.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render_html(data: ReportData) -> str:
    """The whole page for ``data``: a pure function, every value escaped."""
    days = data.days
    palette = reason_palette(data.daily)
    period = f"{data.first_day:%Y-%m-%d} – {data.last_day:%Y-%m-%d} (UTC, by the date of each NDR)"
    sections = [
        ("Failed recipients per day, by reason",
         stacked_bars(days, by_day_and_reason(data.daily, palette), palette,
                      "failed recipients per day by reason") + (_legend(palette) if palette else "")),
        ("Hard vs transient",
         lines(days, hard_and_transient(data.daily), {"hard": HARD_COLOUR, "transient": TRANSIENT_COLOUR},
               "hard and transient failures per day")
         + _legend({"hard (address is dead)": HARD_COLOUR, "transient": TRANSIENT_COLOUR})),
        (f"Top {len(data.domains) or ''} failing recipient domains".replace("  ", " "),
         domain_bars(data.domains, "failures per recipient domain")),
        (f"Newest suppressions ({len(data.suppressions)} of {data.totals.suppressed})",
         _suppression_table(data.suppressions)),
    ]
    body = "".join(f"<section><h2>{esc(title)}</h2>{content}</section>" for title, content in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>bouncewatch report {data.last_day:%Y-%m-%d}</title><style>{STYLE}</style></head>"
        f'<body><main><h1>Bounce report</h1><div class="sub">{esc(period)}</div>'
        f"{_cards(data.totals)}{body}"
        f"<footer>Generated by bouncewatch at {_when(data.generated_at)} UTC.</footer>"
        "</main></body></html>\n"
    )


# --- writing ----------------------------------------------------------------------------------

def report_path(config: Config) -> Path:
    """Where the nightly job writes the report: beside the suppression list."""
    return Path(config.export.directory) / REPORT_NAME


def write_report(engine: Engine, config: Config, output: Path | None = None,
                 days: int = DEFAULT_DAYS, now: datetime | None = None) -> Path:
    """Render the report from the database and write it atomically; return its path."""
    with Session(engine) as session:
        data = report_data(session, days, now)
    return write_atomic(output or report_path(config), render_html(data))


# --- the command ------------------------------------------------------------------------------

EXAMPLES = """\
examples:
  bouncewatch report                           # export.directory/report.html, last 30 days
  bouncewatch report --days 90 --output /tmp/bounces.html
  bouncewatch report --output - > report.html  # to standard output
"""


def _days(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from None
    if not 1 <= n <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be 1..{MAX_DAYS}, not {n}")
    return n


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.epilog = EXAMPLES
    parser.add_argument("--output", "-o", metavar="FILE",
                        help=f"write here ('-': standard output); default: export.directory/{REPORT_NAME}")
    parser.add_argument("--days", type=_days, default=DEFAULT_DAYS, metavar="N",
                        help=f"how many days back, today included (default {DEFAULT_DAYS})")


def _report(args: argparse.Namespace, config: Config, engine: Engine, out: TextIO) -> int:
    from .cli import EXIT_OK

    if args.output == "-":
        with Session(engine) as session:
            out.write(render_html(report_data(session, args.days)))
        return EXIT_OK
    path = write_report(engine, config, Path(args.output).resolve() if args.output else None, args.days)
    out.write(f"wrote {path}\n")
    return EXIT_OK


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from .admin import run as run_admin

    return run_admin(args, out or sys.stdout, handler=_report)
