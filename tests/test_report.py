"""The HTML report: its queries on a real SQLite file filled by the real matcher, its pure
renderer (escaping, self-containment), the command, the nightly hook, and the page as
headless Chromium draws it (skipped when Debian's ``chromium`` is not installed)."""
from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

import classifiers
from classifiers import Kind
from daemon.addresses import normalize_address
from daemon.cli import EXIT_UNAVAILABLE, EXIT_USAGE, main
from daemon.db import make_engine, session_scope
from daemon.report import (
    HARD_COLOUR, NOT_FAILED_ACTIONS, TRANSIENT_COLOUR, DayCount, DomainCount, ReportData,
    SuppressionRow, Totals, daily_counts, nice_ticks, period_start, reason_palette,
    render_html, report_data, top_domains, write_report,
)
from daemon.store import mailbox_key, record_message

SAMPLES = Path(__file__).resolve().parent.parent / "daemon" / "samples"
NOW = datetime(2026, 3, 12, 12, 0, tzinfo=timezone.utc)
BOX = mailbox_key("lists", "INBOX")
HOSTILE = '<b id="pwned">x</b><script>document.title="pwned"</script><img src=x onerror=alert(1)>'
HOSTILE_ADDRESS = "o'brien&co@example.org"

#: (status, reply code, what the server said): dead, transient and sender-side failures.
FAILURES = (
    ("5.1.1", "550", "Recipient address rejected: User unknown in virtual mailbox table"),
    ("5.1.2", "550", "Host or domain name not found. Name service error"),
    ("4.2.2", "452", "Mailbox full, try again later"),
    ("5.2.2", "552", "Mailbox quota exceeded"),
    ("5.7.1", "550", "Message rejected as spam by content filter"),
    ("4.4.1", "451", "Connection timed out"),
)
DOMAINS = ("example.net", "example.com", "mail.example.jp", "example.edu")


def dsn(n: int, at: datetime, failures: list[tuple[str, str, str, str]]) -> bytes:
    """A Postfix-style RFC 3464 report dated ``at`` for (recipient, status, code, text) rows."""
    boundary = f"b{n}/mx.lists.example.org"
    prose = "".join(f"<{r}>: host mx.{r.split('@')[1]}[192.0.2.7] said: {code} {st} {text} "
                    "(in reply to RCPT TO command)\n\n" for r, st, code, text in failures)
    fields = "".join(f"Final-Recipient: rfc822; {r}\nAction: failed\nStatus: {st}\n"
                     f"Remote-MTA: dns; mx.{r.split('@')[1]}\nDiagnostic-Code: smtp; {code} {st} {text}\n\n"
                     for r, st, code, text in failures)
    return (f"Return-Path: <>\nDate: {at:%a, %d %b %Y %H:%M:%S +0000}\n"
            "From: MAILER-DAEMON@mx.lists.example.org (Mail Delivery System)\n"
            "Subject: Undelivered Mail Returned to Sender\nTo: bounces@lists.example.org\n"
            "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
            f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\n'
            f"Message-Id: <report-{n}@mx.lists.example.org>\n\n"
            f"--{boundary}\nContent-Type: text/plain; charset=us-ascii\n\n"
            f"This is the mail system at host mx.lists.example.org.\n\n{prose}"
            f"--{boundary}\nContent-Type: message/delivery-status\n\n"
            f"Reporting-MTA: dns; mx.lists.example.org\n\n{fields}"
            f"--{boundary}--\n").replace("\n", "\r\n").encode()


def generated() -> list[bytes]:
    """Ten days of NDRs up to NOW, one to four a day, recipients over a few domains, plus
    one whose diagnostic and address are hostile."""
    messages = []
    for n in range(24):
        at = NOW - timedelta(days=n % 10, hours=n % 5)
        rows = [(f"user{(n * 7 + k) % 13}@{DOMAINS[(n + k) % len(DOMAINS)]}",
                 *FAILURES[(n + 2 * k) % len(FAILURES)]) for k in range(1 + n % 3)]
        messages.append(dsn(n, at, rows))
    messages.append(dsn(99, NOW - timedelta(days=1), [(HOSTILE_ADDRESS, "5.1.1", "550", HOSTILE)]))
    return messages


def everything() -> list[bytes]:
    return [p.read_bytes() for p in sorted(SAMPLES.glob("*.eml"))] + generated()


@pytest.fixture
def filled(make_config):
    """A migrated database holding the shipped samples and the generated NDRs, each recorded
    with the real matcher exactly as a poll records it."""
    config = make_config()
    engine = make_engine(config.database.url)
    with session_scope(engine) as session:
        for uid, raw in enumerate(everything(), start=1):
            record_message(session, mailbox=BOX, uidvalidity=1, uid=uid, raw=raw, config=config, now=NOW)
    yield config, engine
    engine.dispose()


def failed_recipients(days: int) -> list[tuple[date, str, str, bool]]:
    """(day, recipient, reason, hard) per failed recipient of each NDR in the period, from
    the matcher's own reports (one per recipient per message, as stored)."""
    since = period_start(NOW, days)
    out = []
    for raw in everything():
        report = classifiers.classify(raw)
        at = min(_date_of(raw), NOW)
        if report.kind != Kind.BOUNCE or at < since:
            continue
        seen: dict[str, tuple[str, bool]] = {}
        for o in report.outcomes:
            if o.action.lower() not in NOT_FAILED_ACTIONS:
                seen.setdefault(o.recipient.lower(), (str(o.reason), o.hard))
        out += [(at.date(), r, reason, hard) for r, (reason, hard) in seen.items()]
    return out


def expected_daily(days: int) -> Counter[tuple[date, str, bool]]:
    return Counter((day, reason, hard) for day, _, reason, hard in failed_recipients(days))


def _date_of(raw: bytes) -> datetime:
    import email.utils
    from email.parser import BytesHeaderParser

    return email.utils.parsedate_to_datetime(BytesHeaderParser().parsebytes(raw)["Date"].split(" (")[0]
                                             ).astimezone(timezone.utc)


# --- queries -------------------------------------------------------------------------------

def test_daily_counts_match_the_matcher_grouped_in_python(filled):
    _, engine = filled
    for days in (10, 30):
        with session_scope(engine) as s:
            got = {(d.day, d.reason, d.hard): d.count for d in daily_counts(s, period_start(NOW, days))}
        assert got == dict(expected_daily(days)) and got
    assert any(day == date(2026, 3, 2) and hard for day, _, hard in expected_daily(30))   # samples
    assert not any(day < date(2026, 3, 3) for day, _, _ in expected_daily(10))


def test_top_domains_and_newest_suppressions(filled):
    _, engine = filled
    with session_scope(engine) as s:
        data = report_data(s, 30, NOW)
    expected = Counter(r.rpartition("@")[2] for _, r, _, _ in failed_recipients(30)
                       if normalize_address(r))
    assert {d.domain: d.failures for d in data.domains} == dict(expected)
    assert [d.failures for d in data.domains] == sorted((d.failures for d in data.domains), reverse=True)
    assert all(0 < d.addresses <= d.failures for d in data.domains)
    assert sum(d.failures for d in data.domains) == data.totals.failures
    assert sum(d.hard for d in data.domains) == data.totals.hard > 0
    newest = data.suppressions
    assert newest and [r.suppressed_at for r in newest] == sorted((r.suppressed_at for r in newest), reverse=True)
    hostile = next(r for r in newest if r.address == HOSTILE_ADDRESS)
    assert hostile.reason == "userunknown" and "pwned" in hostile.diagnostic
    assert data.totals.suppressed == len(newest) and data.totals.new_suppressions == len(newest)


# --- rendering -----------------------------------------------------------------------------

class Elements(HTMLParser):
    """Every start tag with its attributes, and the text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Elements:
    p = Elements()
    p.feed(page)
    return p


ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "div",
                "section", "svg", "line", "text", "rect", "path", "circle", "tspan", "ul", "li",
                "span", "table", "thead", "tbody", "tr", "th", "td", "p", "footer"}


def hostile_data() -> ReportData:
    evil = HOSTILE + "' onmouseover='alert(2)"
    day = NOW.date()
    return ReportData(
        generated_at=NOW, first_day=day - timedelta(days=2), last_day=day,
        daily=(DayCount(day, evil, True, 3), DayCount(day - timedelta(days=1), "mailboxfull", False, 2)),
        domains=(DomainCount(evil, 2, 1, 2), DomainCount("example.org", 0, 1, 1)),
        suppressions=(SuppressionRow(evil, evil, evil, evil, NOW, True, 4, evil),),
        totals=Totals(messages=5, failures=5, hard=3, suppressed=1, new_suppressions=1))


def test_attacker_controlled_values_cannot_inject_markup():
    page = render_html(hostile_data())
    elements = parse(page)
    assert {tag for tag, _ in elements.tags} <= ALLOWED_TAGS
    assert not [(t, a) for t, attrs in elements.tags for a in attrs if a.startswith("on")]
    assert "<script" not in page.lower() and "<b id" not in page and "<img" not in page
    assert "&lt;script&gt;" in page and HOSTILE in "".join(elements.text)   # shown, as text


def test_the_page_needs_nothing_from_the_network():
    page = render_html(hostile_data())
    elements = parse(page)
    assert not [(t, a) for t, attrs in elements.tags for a in attrs
                if a in ("src", "href", "xlink:href", "action", "srcset", "background")]
    assert not [t for t, _ in elements.tags if t in ("link", "script", "img", "iframe", "object")]
    style = page[page.index("<style>"):page.index("</style>")].lower()
    assert "url(" not in style and "@import" not in style and "http" not in style
    csp = next(a["content"] for t, a in elements.tags if t == "meta" and a.get("http-equiv"))
    assert csp and "default-src 'none'" in csp and "script-src" not in csp


def test_an_empty_period_says_so():
    data = ReportData(NOW, NOW.date() - timedelta(days=6), NOW.date(), (), (), (),
                      Totals(0, 0, 0, 0, 0))
    page = render_html(data)
    assert page.count("No failures in this period") == 3 and "No address is suppressed" in page
    assert "<rect" not in page


def test_bars_add_up_to_the_counts():
    page = render_html(hostile_data())
    rects = [a for t, a in parse(page).tags if t == "rect"]
    assert len(rects) == 2 + 3          # two days of bars; hard+transient and transient domain bars
    assert all(float(a["width"]) > 0 and float(a["height"]) > 0 for a in rects)


def test_palette_folds_rare_reasons_into_other():
    daily = [DayCount(NOW.date(), f"r{i}", False, 20 - i) for i in range(12)]
    palette = reason_palette(daily, top=4)
    assert list(palette) == ["r0", "r1", "r2", "other"] and len(set(palette.values())) == 4


@pytest.mark.parametrize(("peak", "ticks"), [(0, [0, 1]), (1, [0, 1]), (3, [0, 1, 2, 3]),
                                             (7, [0, 2, 4, 6, 8]), (48, [0, 10, 20, 30, 40, 50]),
                                             (1234, [0, 500, 1000, 1500])])
def test_nice_ticks(peak, ticks):
    assert nice_ticks(peak) == ticks


# --- the command and the nightly job -------------------------------------------------------

def _config_file(config, tmp_path: Path) -> Path:
    path = tmp_path / "bw.toml"
    path.write_text(f'[database]\nurl = "{config.database.url}"\n'
                    f'[export]\ndirectory = "{config.export.directory}"\n')
    return path


def test_report_command(filled, tmp_path, capsys):
    config, _ = filled
    conf = _config_file(config, tmp_path)
    assert main(["-c", str(conf), "report", "--days", "400"]) == 0
    target = Path(config.export.directory) / "report.html"
    assert capsys.readouterr().out == f"wrote {target}\n"
    page = target.read_text()
    assert "gone@example.net" in page and "o&#x27;brien&amp;co@example.org" in page   # escaped
    assert main(["-c", str(conf), "report", "--output", "-"]) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")
    assert main(["-c", str(conf), "report", "-o", str(tmp_path / "afile" / "r.html")]) == 0
    (tmp_path / "blocker").write_text("")
    code = main(["-c", str(conf), "report", "-o", str(tmp_path / "blocker" / "r.html")])
    assert code == EXIT_UNAVAILABLE and "blocker" in capsys.readouterr().err
    for bad in ("0", "x", "99999"):
        with pytest.raises(SystemExit) as exit_:
            main(["-c", str(conf), "report", "--days", bad])
        assert exit_.value.code == EXIT_USAGE


def test_the_nightly_export_writes_the_report_beside_the_list(filled):
    from daemon.service import Service

    config, _ = filled
    service = Service(config)
    try:
        service.export()
    finally:
        service.engine.dispose()
    files = sorted(p.name for p in Path(config.export.directory).iterdir())
    assert files == ["report.html", "suppressions.csv", "suppressions.json"]
    assert "Bounce report" in (Path(config.export.directory) / "report.html").read_text()


def test_write_report_replaces_the_file_atomically(filled, tmp_path):
    config, engine = filled
    target = tmp_path / "r.html"
    target.write_text("old")
    assert write_report(engine, config, target, 30, NOW) == target
    assert target.read_text().startswith("<!DOCTYPE html>") and list(tmp_path.glob(".r.html.*")) == []


# --- in a real browser ---------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                    "(Debian: apt-get install chromium)")


def chromium(tmp_path: Path, page: Path, *mode: str) -> subprocess.CompletedProcess[bytes]:
    """Headless Chromium on ``page`` with networking and background services off."""
    assert CHROMIUM
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
         *mode, page.as_uri()],
        capture_output=True, timeout=120, check=True)


def png_pixels(path: Path) -> tuple[int, int, list[tuple[int, int, int]]]:
    """A PNG's size and RGB pixels (8-bit RGB or RGBA, not interlaced: what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        header, idat = (chunk, idat) if kind == b"IHDR" else (header, idat + chunk if kind == b"IDAT" else idat)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]) & 0xFF
        rows.append(line)
        previous = line
    return width, height, [tuple(r[i:i + 3]) for r in rows for i in range(0, stride, bpp)]


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


@needs_chromium
def test_chromium_draws_the_charts(filled, tmp_path):
    config, engine = filled
    page = write_report(engine, config, tmp_path / "report.html", 14, NOW)
    dom = chromium(tmp_path, page, "--dump-dom").stdout.decode()
    elements = parse(dom)
    rects = [a for t, a in elements.tags if t == "rect"]
    drawn = [a for a in rects if float(a["width"]) > 0 and float(a["height"]) > 0]
    assert len(drawn) >= 20 and len(drawn) == len(rects)
    assert sum(1 for t, a in elements.tags if t == "path" and a.get("d", "").count("L") >= 10) >= 2
    assert not [a for t, a in elements.tags if a.get("id") == "pwned"] and "<script" not in dom
    assert "<title>bouncewatch report 2026-03-12</title>" in dom and HOSTILE_ADDRESS.replace("&", "&amp;") in dom

    shot = tmp_path / "report.png"
    chromium(tmp_path, page, f"--screenshot={shot}", "--window-size=1000,1500")
    width, height, pixels = png_pixels(shot)
    assert (width, height) == (1000, 1500)
    counts = Counter(pixels)
    assert len(counts) > 50                                      # not a blank page
    palette = reason_palette(report_data_for(engine, 14).daily)
    for colour in [HARD_COLOUR, TRANSIENT_COLOUR, *palette.values()]:
        near = sum(n for rgb, n in counts.items() if max(abs(p - q) for p, q in zip(rgb, _rgb(colour))) <= 8)
        assert near > 30, f"{colour} is not on the screen"


def report_data_for(engine, days: int) -> ReportData:
    with session_scope(engine) as s:
        return report_data(s, days, NOW)
