"""bench/broadcast.py runs end to end on tiny sizes and loses no message.

Only that it works is checked here, never how fast: timings on a shared CI machine mean nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "broadcast.py"
KEYS = {
    "sent",
    "lost",
    "duplicates",
    "rate_ratio",
    "retries_429",
    "recipe_rate_ratio",
    "recipe_429",
    "aio_rate_ratio",
    "aio_429",
}


def run_bench(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary.keys() >= (KEYS if "whatsapp" not in args else {"sent", "lost", "duplicates", "rate_ratio"})
    return summary


def test_a_tiny_broadcast_reaches_everyone_once() -> None:
    summary = run_bench("--recipients", "30", "--rate", "200", "--skip-baselines")

    assert summary["lost"] == 0
    assert summary["sent"] >= 30


def test_a_killed_delivery_process_loses_nothing_after_its_restart() -> None:
    summary = run_bench("--recipients", "60", "--rate", "60", "--kill")

    assert summary["lost"] == 0
    assert summary["mode"] == "kill"


def test_a_broadcast_delivered_beside_the_bot_reaches_everyone_once() -> None:
    summary = run_bench("--recipients", "60", "--rate", "60", "--beside", "broadcast")

    assert summary["mode"] == "beside-broadcast"
    assert summary["lost"] == 0
    assert summary["duplicates"] == 0


def test_a_whatsapp_broadcast_with_130429s_and_a_closed_window_reaches_everyone_once() -> None:
    summary = run_bench(
        "--channel", "whatsapp", "--recipients", "40", "--rate", "200", "--outside", "0.3", "--inject-every", "15"
    )

    assert (summary["lost"], summary["duplicates"]) == (0, 0)
    assert summary["injected_130429"] >= 2
    assert (summary["free_form"], summary["templates"]) == (28, 12)


def test_a_whatsapp_broadcast_delivered_by_the_bot_and_blkbot_deliver_reaches_everyone_once() -> None:
    summary = run_bench("--channel", "whatsapp", "--recipients", "60", "--rate", "60", "--beside", "deliver")

    assert summary["mode"] == "whatsapp-beside-deliver"
    assert (summary["lost"], summary["duplicates"]) == (0, 0)
