"""Every fixture we wrote, checked row by row against its family's ``expected.tsv``.

Layout: ``tests/fixtures/<family>/NAME.eml`` plus ``tests/fixtures/<family>/expected.tsv``
(tab-separated, header ``file recipient status reply_code reason hard kind decoded_by``, one
row per expected outcome; a message without outcomes has one row with empty recipient,
status, reply_code and reason and hard ``false``). One test per fixture file: the message
must yield exactly those recipients with those fields. A family without expected.tsv, a
.eml without a row, or a row naming a missing file fails, so nothing is forgotten.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

from classifiers import Report, classify

FIXTURES = Path(__file__).parent / "fixtures"
COLUMNS = ("file", "recipient", "status", "reply_code", "reason", "hard", "kind", "decoded_by")


@dataclass(frozen=True)
class Row:
    """One expected (or observed) outcome, every field a string as in the TSV."""

    recipient: str
    status: str
    reply_code: str
    reason: str
    hard: str
    kind: str
    decoded_by: str

    def show(self) -> str:
        return "\t".join((self.recipient or "-", self.status or "-", self.reply_code or "-",
                          self.reason or "-", self.hard, self.kind, self.decoded_by))


def _families() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir()) if FIXTURES.is_dir() else []


def _read_expected(family: Path) -> dict[str, list[Row]]:
    """expected.tsv as {file name: rows}; a malformed header or row raises with its line."""
    path = family / "expected.tsv"
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if tuple(header or ()) != COLUMNS:
            raise ValueError(f"{path}: header must be {' '.join(COLUMNS)!r}, got {header!r}")
        rows: dict[str, list[Row]] = {}
        for line_no, cells in enumerate(reader, start=2):
            if not cells or not "".join(cells).strip() or cells[0].startswith("#"):
                continue
            if len(cells) != len(COLUMNS):
                raise ValueError(f"{path}:{line_no}: {len(cells)} columns, want {len(COLUMNS)}")
            name, *rest = (c.strip() for c in cells)
            rows.setdefault(name, []).append(Row(*rest))
    return rows


def _cases() -> list[object]:
    cases: list[object] = []
    for family in _families():
        emls = sorted(p.name for p in family.glob("*.eml"))
        if not (family / "expected.tsv").is_file():
            cases.append(pytest.param(family, None, id=f"{family.name}/expected.tsv"))
            continue
        expected = _read_expected(family)
        for name in emls:
            cases.append(pytest.param(family, name, id=f"{family.name}/{name}"))
        for name in sorted(set(expected) - set(emls)):
            cases.append(pytest.param(family, name, id=f"{family.name}/{name}"))
    return cases


def observed(report: Report) -> list[Row]:
    """The report in the expected.tsv shape."""
    kind, by = str(report.kind), report.decoded_by
    if not report.outcomes:
        return [Row("", "", "", "", "false", kind, by)]
    return [Row(o.recipient, o.status, o.reply_code, str(o.reason), str(o.hard).lower(), kind, by)
            for o in report.outcomes]


def _key(row: Row) -> str:
    return row.recipient.lower()


@pytest.mark.parametrize(("family", "name"), _cases())
def test_fixture(family: Path, name: str | None) -> None:
    assert name is not None, f"{family}: no expected.tsv beside the fixtures"
    expected = _read_expected(family).get(name)
    assert expected, f"{family / name}: no row in expected.tsv"
    path = family / name
    assert path.is_file(), f"{family}/expected.tsv names {name}, which does not exist"
    got = observed(classify(path.read_bytes()))
    want_sorted, got_sorted = sorted(expected, key=_key), sorted(got, key=_key)
    header = "recipient\tstatus\treply\treason\thard\tkind\tdecoded_by"
    assert got_sorted == want_sorted, (
        f"{path.name}:\n  expected:\n    {header}\n    "
        + "\n    ".join(r.show() for r in want_sorted)
        + "\n  got:\n    " + "\n    ".join(r.show() for r in got_sorted)
    )


def test_fixture_rows_use_known_values() -> None:
    """Typos in expected.tsv (a reason or kind that does not exist) are caught here."""
    from classifiers import Kind, Reason

    reasons, kinds = {str(r) for r in Reason} | {""}, {str(k) for k in Kind}
    problems = []
    for family in _families():
        if not (family / "expected.tsv").is_file():
            continue
        for name, rows in _read_expected(family).items():
            for row in rows:
                if row.reason not in reasons or row.kind not in kinds or row.hard not in ("true", "false"):
                    problems.append(f"{family.name}/{name}: {row.show()}")
    assert not problems, "unknown reason/kind/hard values:\n" + "\n".join(problems)
