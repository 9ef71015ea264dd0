"""bench/participants_import.py runs end to end on a tiny file: the repeat import adds nobody.

Only that it works is checked here, never how fast: timings on a shared CI machine mean nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "participants_import.py"


def test_participants_import_bench_imports_every_row_once() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", "300", "--database-url", "none"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    [sqlite] = json.loads(done.stdout.strip().splitlines()[-1])["results"]
    assert (sqlite["first_new"], sqlite["repeat_new"], sqlite["stored"]) == (300, 0, 300)
