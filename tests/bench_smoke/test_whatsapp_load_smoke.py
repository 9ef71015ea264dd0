"""bench/conversation_load.py --channel whatsapp runs end to end on a tiny load and loses no registration.

Only that it works is checked here, never how fast: timings on a shared CI machine mean nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "conversation_load.py"


def test_three_residents_register_over_whatsapp_and_the_echo_ceiling_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--channel", "whatsapp", "--residents", "3", "--rate", "20"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["channel"], summary["residents"]) == ("whatsapp", 3)
    assert summary["applications"] == [3, 3]  # the closed-loop and the paced database
    assert (summary["lost"], summary["duplicates"], summary["errors"]) == (0, 0, 0)
    assert summary["turns"] == 3 * 15
    assert summary["echo_turns_per_s"] is not None  # the echo part ran too
