"""The benchmark script runs (at a tiny scale: the national scale is for benchmarks/)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_reports.py"


def test_bench_reports_at_a_tiny_scale() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--scale", "0.002", "--repeat", "1", "--year", "2024"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout
    assert "scale 0.002: supporters 40, events 80, assignments 240" in output
    rows = dict(
        (name.strip(), (float(seconds), int(queries)))
        for name, seconds, queries in re.findall(r"^  (.+?)\s+([\d.]+)\s+(\d+)$", output, re.M)
    )
    assert rows["fiscal-year report (service)"][1] <= 14
    assert rows["coordinator start page /"][1] <= 12
    assert "report page /reports/tochigi/2024" in rows and "report PDF" in rows
