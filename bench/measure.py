"""Run a command and measure it: wall time, exit code, peak resident memory, its output."""
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
         "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
         "sys.exit(code)")


@dataclass(frozen=True)
class Run:
    seconds: float
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
        kib = int(Path(peak.name).read_text() or 0)
    return Run(seconds, done.returncode, kib / 1024, done.stdout.decode())
