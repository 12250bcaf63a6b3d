#!/usr/bin/env python3
"""Benchmark the matcher: messages per second over a folder, against the standard library.

    python bench/classify.py [FOLDER] [--repeat N]

FOLDER defaults to ../shared/corpus/emails when present, else tests/fixtures. Prints, for
the same files: ``classify`` in-process (median and best of N passes), the floor (bare stdlib
``email.message_from_bytes``, which only splits MIME and decodes nothing), and the whole
process, ``bouncewatch classify --jsonl`` over every file with Python start-up included
(the figure users see; median and best of ``--runs``), plus peak memory (ru_maxrss) of
each, and the load average (the machine may be shared: medians say more than bests).
"""
from __future__ import annotations

import argparse
import email
import os
import resource
import statistics
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifiers import classify  # noqa: E402  (after the path is set)


def default_folder() -> Path:
    corpus = ROOT.parent / "shared" / "corpus" / "emails"
    return corpus if corpus.is_dir() else ROOT / "tests" / "fixtures"


def message_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".eml", ""))


def best_rate(label: str, work: Callable[[bytes], object], blobs: list[bytes], repeat: int) -> float:
    """Messages per second of ``work`` over ``blobs`` (CPU time), median and best of
    ``repeat`` passes; returns the best."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        for raw in blobs:
            work(raw)
        times.append(time.process_time() - started)
    best, median = min(times), statistics.median(times)
    rate = len(blobs) / best if best else float("inf")
    size = sum(map(len, blobs)) / 1e6
    print(f"{label:34} {len(blobs) / median:10.0f} msgs/s median, {rate:6.0f} best  "
          f"{size / best:7.1f} MB/s  ({median * 1000:.0f} / {best * 1000:.0f} ms)")
    return rate


def whole_process(files: list[Path], runs: int) -> None:
    """``bouncewatch classify --jsonl`` over every file, as a user runs it."""
    exe = shutil.which("bouncewatch", path=str(ROOT / ".venv" / "bin")) or shutil.which("bouncewatch")
    command = [exe] if exe else [sys.executable, "-m", "daemon.cli"]
    walls, cpus, peak = [], [], 0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command + ["classify", "--jsonl", *map(str, files)], cwd=ROOT,
                       stdout=subprocess.DEVNULL, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        peak = max(peak, after.ru_maxrss)
    median, best = statistics.median(walls), min(walls)
    print(f"{'whole process (bouncewatch classify)':34} {len(files) / median:10.0f} msgs/s median, "
          f"{len(files) / best:6.0f} best  wall {median * 1000:.0f} / {best * 1000:.0f} ms, "
          f"cpu {statistics.median(cpus) * 1000:.0f} / {min(cpus) * 1000:.0f} ms, "
          f"peak {peak / 1024:.1f} MB (of {runs} runs)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=default_folder())
    parser.add_argument("--repeat", type=int, default=5, help="in-process passes")
    parser.add_argument("--runs", type=int, default=7, help="whole-process runs")
    parser.add_argument("--no-process", action="store_true", help="skip the whole-process run")
    args = parser.parse_args()
    files = message_files(args.folder)
    if not files:
        print(f"no message files under {args.folder}", file=sys.stderr)
        return 2
    blobs = [p.read_bytes() for p in files]
    print(f"{len(files)} messages, {sum(map(len, blobs)) / 1e6:.1f} MB, from {args.folder}; "
          f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    best_rate("stdlib email.message_from_bytes", email.message_from_bytes, blobs, args.repeat)
    best_rate("classifiers.classify (in-process)", classify, blobs, args.repeat)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{'peak memory of this process':34} {peak / 1024:10.1f} MB")
    if not args.no_process:
        whole_process(files, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
