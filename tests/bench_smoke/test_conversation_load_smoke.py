"""bench/conversation_load.py runs end to end on a tiny load and loses no registration.

Only that it works is checked here, never how fast: timings on a shared CI machine mean nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "conversation_load.py"
KEYS = {
    "residents",
    "database",
    "turns",
    "turns_per_s",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "paced_rate",
    "paced_turns_per_s",
    "paced_p95_ms",
    "echo_turns_per_s",
    "echo_p95_ms",
    "ratio_to_echo",
    "lost",
    "duplicates",
}


def test_three_residents_register_through_blkbot_and_the_echo_ceiling_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--residents", "3", "--rate", "20"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary.keys() >= KEYS
    assert summary["residents"] == 3
    assert summary["lost"] == 0
    assert summary["duplicates"] == 0
    assert summary["echo_turns_per_s"] is not None  # the echo part ran too
