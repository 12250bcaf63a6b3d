#!/usr/bin/env python3
"""Fuzz the matcher at scale and print the figures: inputs fuzzed, slowest input per MB,
exceptions and broken promises found (both must be 0).

    python bench/fuzz.py [--inputs N] [--size-mb MB] [--seed S] [--atheris RUNS] [--save DIR]
                         [--stages crafted,floods,mutations,lines] [--top N]

Five stages, all through ``classifiers.classify`` with the invariants of
``tests/hostile.violations``:

1. crafted messages (``tests/hostile.crafted``) at ``--size-mb`` (default 20 MB), and at a
   quarter of it: the ratio of the two times shows anything super-linear (4x is linear);
2. every detector's own marker phrases flooded (``hostile.marker_floods``), both sizes too;
3. ``--inputs`` mutations of real bounces: our fixtures and, when it is beside the project,
   ../shared/corpus/emails (byte flips, truncation, duplicated lines, charset label swaps,
   boundary damage, repeated marker lines, junk runs, line endings);
4. every distinct line of every fixture repeated ``--line-repeat`` and 4x as many times
   (the per-line loops of each detector must grow linearly);
5. with ``--atheris RUNS`` and atheris installed (``pip install -e .[fuzz]``), coverage-guided
   fuzzing seeded with the same real bounces (libFuzzer's mutations), in a child process.

Exit status 1 when any exception, broken promise or super-linear case was found; inputs
that broke something (and the slowest per MB) are written to ``--save`` (default: a
bouncewatch-fuzz-findings folder in the temp directory).
"""
from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import hostile  # noqa: E402  (after the path is set)
from classifiers import classify  # noqa: E402

MB = 1024 * 1024
#: Inputs smaller than this are timed but not ranked per MB (fixed costs dominate them).
RANKED_FROM = 64 * 1024
#: Growth of the time for 4x the input above which a case counts as super-linear.
SUPERLINEAR = 8.0


class Tally:
    """What the run found."""

    def __init__(self, save: Path) -> None:
        self.inputs = 0
        self.bytes = 0
        self.seconds = 0.0
        self.broken: list[tuple[str, list[str]]] = []
        self.slowest: tuple[float, str, int] = (0.0, "", 0)        # (s/MB, label, size)
        self.per_mb: dict[str, tuple[float, int]] = {}               # case -> (worst s/MB, size)
        self.slowest_abs: tuple[float, str, int] = (0.0, "", 0)    # (s, label, size)
        self.superlinear: list[tuple[str, float]] = []
        self.save = save
        self.slowest_raw = b""

    def run(self, label: str, raw: bytes) -> float:
        started = time.process_time()
        try:
            report = classify(raw)
            problems = hostile.violations(report)
        except BaseException as exc:  # classify must never raise: count it, keep going
            problems = [f"raised {type(exc).__name__}: {exc}"[:300]]
        elapsed = time.process_time() - started
        self.inputs += 1
        self.bytes += len(raw)
        self.seconds += elapsed
        if len(raw) >= RANKED_FROM:
            rate = elapsed / (len(raw) / MB)
            case = label.rsplit("@", 1)[0]
            if rate > self.per_mb.get(case, (0.0, 0))[0]:
                self.per_mb[case] = (rate, len(raw))
            if rate > self.slowest[0]:
                self.slowest = (rate, label, len(raw))
                self.slowest_raw = raw
        if elapsed > self.slowest_abs[0]:
            self.slowest_abs = (elapsed, label, len(raw))
        if problems:
            self.broken.append((label, problems))
            self.save.mkdir(parents=True, exist_ok=True)
            name = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)[:100]
            (self.save / f"{len(self.broken):04d}-{name}.eml").write_bytes(raw)
        return elapsed

    def scaled(self, label: str, build, size: int) -> None:
        """Time one case at a quarter of ``size`` and at ``size``; record the growth."""
        self.pair(label, build(size // 4), build(size))

    def pair(self, label: str, small_raw: bytes, large_raw: bytes) -> None:
        small = self.run(f"{label}@{len(small_raw)}", small_raw)
        large = self.run(f"{label}@{len(large_raw)}", large_raw)
        growth = large / small if small > 0.01 else 0.0
        if growth > SUPERLINEAR * len(large_raw) / len(small_raw) / 4:
            self.superlinear.append((label, growth))


def crafted_stage(tally: Tally, size: int) -> None:
    for name, build in sorted(hostile.CRAFTED.items()):
        tally.scaled(f"crafted:{name}", build, size)


def flood_stage(tally: Tally, size: int) -> None:
    small, large = dict(hostile.marker_floods(size // 4)), dict(hostile.marker_floods(size))
    for label in small:
        tally.pair(f"flood:{label}", small[label], large[label])


def mutation_stage(tally: Tally, inputs: int, seed: int) -> int:
    seeds = hostile.real_messages()
    rnd = random.Random(seed)
    for _ in range(inputs):
        name, raw = rnd.choice(seeds)
        how, mutated = hostile.mutate(raw, rnd, rounds=4)
        tally.run(f"mutated:{name}:{how}", mutated)
    return len(seeds)


def line_growth_stage(tally: Tally, repeat: int) -> None:
    """Every distinct line of every fixture repeated ``repeat`` and 4x ``repeat`` times: the
    loops each detector runs over lines must grow linearly (skipped when the small one is
    too cheap to time)."""
    for path in sorted(hostile.FIXTURES.glob("*/*.eml")):
        lines = path.read_bytes().replace(b"\r\n", b"\n").split(b"\n")
        for index, line in enumerate(dict.fromkeys(lines)):
            if not line.strip():
                continue
            at = lines.index(line)
            label = f"lines:{path.parent.name}/{path.name}:{at}"
            small = tally.run(label, b"\n".join(lines[:at] + [line] * repeat + lines[at:]))
            if small < 0.004:
                continue
            large = tally.run(label, b"\n".join(lines[:at] + [line] * (4 * repeat) + lines[at:]))
            if large > SUPERLINEAR * small and large > 0.05:
                # Confirmed by a third size: a busy machine fakes one step, not two in a row.
                huge = tally.run(label, b"\n".join(lines[:at] + [line] * (16 * repeat) + lines[at:]))
                if huge > SUPERLINEAR * large:
                    tally.superlinear.append((label, large / small))


def atheris_stage(tally: Tally, runs: int) -> str:
    """libFuzzer ends its process when done: it runs in a child, which we count from outside."""
    try:
        import atheris  # noqa: F401, PLC0415  (optional: pip install atheris)
    except ImportError:
        return "atheris not installed: skipped"
    tally.save.mkdir(parents=True, exist_ok=True)
    child = subprocess.run([sys.executable, __file__, "--atheris-child", str(runs),
                            "--save", str(tally.save)], capture_output=True, text=True)
    done = re.search(r"Done (\d+) runs", child.stderr)
    tally.inputs += int(done.group(1)) if done else 0
    if child.returncode != 0:
        tail = [line for line in child.stderr.splitlines() if line.strip()][-5:]
        tally.broken.append(("atheris", [f"exception: {' | '.join(tail)}"]))
    return f"coverage-guided, {done.group(1) if done else '?'} runs, exit {child.returncode}"


def atheris_child(runs: int, save: Path) -> None:
    """Coverage-guided fuzzing seeded with the real bounces; a broken promise is a crash."""
    import atheris  # noqa: PLC0415
    corpus = Path(tempfile.mkdtemp(prefix="bouncewatch-fuzz-"))
    for index, (_, raw) in enumerate(hostile.real_messages()):
        (corpus / f"{index:04d}.eml").write_bytes(raw)

    def one_input(data: bytes) -> None:
        problems = hostile.violations(classify(data))
        if problems:
            raise AssertionError(problems)

    atheris.instrument_all()  # coverage of every loaded function guides the mutations
    atheris.Setup([sys.argv[0], f"-runs={runs}", "-max_len=262144", "-timeout=30",
                   f"-artifact_prefix={save}/", str(corpus)], one_input)
    atheris.Fuzz()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=20_000, help="mutated real bounces")
    parser.add_argument("--size-mb", type=float, default=20.0, help="size of crafted messages")
    parser.add_argument("--flood-mb", type=float, default=2.0, help="size of marker floods")
    parser.add_argument("--line-repeat", type=int, default=2000, help="line growth stage")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stages", default="crafted,floods,mutations,lines",
                        help="comma-separated stages to run (default: all but atheris)")
    parser.add_argument("--top", type=int, default=5, help="list this many slowest cases per MB")
    parser.add_argument("--atheris", type=int, default=0, metavar="RUNS")
    parser.add_argument("--save", type=Path,
                        default=Path(tempfile.gettempdir()) / "bouncewatch-fuzz-findings")
    parser.add_argument("--atheris-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.atheris_child:
        atheris_child(args.atheris_child, args.save)
        return 0
    tally = Tally(args.save)
    wall = time.perf_counter()

    stages = set(args.stages.split(","))
    if "crafted" in stages:
        crafted_stage(tally, int(args.size_mb * MB))
        print(f"crafted     {tally.inputs:8d} inputs  {tally.bytes / MB:9.1f} MB", flush=True)
    if "floods" in stages:
        before = tally.inputs
        flood_stage(tally, int(args.flood_mb * MB))
        print(f"floods      {tally.inputs - before:8d} inputs", flush=True)
    if "mutations" in stages:
        before = tally.inputs
        seeds = mutation_stage(tally, args.inputs, args.seed)
        print(f"mutations   {tally.inputs - before:8d} inputs  (from {seeds} real bounces)",
              flush=True)
    if "lines" in stages:
        before = tally.inputs
        line_growth_stage(tally, args.line_repeat)
        print(f"line growth {tally.inputs - before:8d} inputs  (each fixture line "
              f"x{args.line_repeat} and x{4 * args.line_repeat})", flush=True)
    if args.atheris:
        before = tally.inputs
        note = atheris_stage(tally, args.atheris)
        print(f"atheris     {tally.inputs - before:8d} inputs  ({note})", flush=True)

    rate, label, size = tally.slowest
    worst, worst_label, worst_size = tally.slowest_abs
    print(f"inputs fuzzed          {tally.inputs}")
    print(f"bytes classified       {tally.bytes / MB:.1f} MB in {tally.seconds:.1f} s CPU "
          f"({time.perf_counter() - wall:.1f} s wall)")
    print(f"slowest per MB         {rate:.3f} s/MB  {label} ({size / MB:.2f} MB)")
    for case, (case_rate, case_size) in sorted(tally.per_mb.items(), key=lambda kv: -kv[1][0])[
            1:args.top]:
        print(f"                       {case_rate:.3f} s/MB  {case} ({case_size / MB:.2f} MB)")
    print(f"slowest input          {worst:.3f} s  {worst_label} ({worst_size / MB:.2f} MB)")
    print(f"super-linear cases     {len(tally.superlinear)}"
          + "".join(f"\n    {lbl}: x{g:.1f} for 4x the input" for lbl, g in tally.superlinear))
    exceptions = [b for b in tally.broken if any(p.startswith(("raised", "exception")) for p in b[1])]
    print(f"exceptions found       {len(exceptions)}")
    print(f"broken promises        {len(tally.broken) - len(exceptions)}")
    for found_label, problems in tally.broken[:20]:
        print(f"    {found_label}: {problems[:3]}")
    if tally.slowest_raw:
        args.save.mkdir(parents=True, exist_ok=True)
        (args.save / "slowest-per-mb.eml").write_bytes(tally.slowest_raw)
    if tally.broken:
        print(f"inputs saved to {args.save}")
    return 1 if tally.broken or tally.superlinear else 0


if __name__ == "__main__":
    sys.exit(main())
