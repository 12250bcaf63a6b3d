"""Run a command and measure it: wall time, CPU time, exit code, peak resident memory, output.

CPU time (user + system of the command) is the steadier figure on a busy machine."""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: A tiny Python parent runs the command and reports its children's peak RSS: a child forked
#: from the (big) benchmark process itself would count the benchmark's pages as its own.
_PEAK = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[2:]); "
         "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
         "open(sys.argv[1], 'w').write(f'{u.ru_maxrss} {u.ru_utime + u.ru_stime}'); "
         "sys.exit(code)")


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_seconds: float
    code: int
    peak_mb: float
    stdout: str


def measure(argv: list[str], **popen: Any) -> Run:
    """Run ``argv`` to completion; stdout is captured, stderr discarded."""
    with tempfile.NamedTemporaryFile(prefix="bw-peak-") as peak:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _PEAK, peak.name, *argv], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, **popen)
        seconds = time.perf_counter() - started
        kib, cpu = Path(peak.name).read_text().split()
    return Run(seconds, float(cpu), done.returncode, int(kib) / 1024, done.stdout.decode())
