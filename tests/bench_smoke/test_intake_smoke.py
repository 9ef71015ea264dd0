"""bench/intake.py carries a small intake from the chat to the figures, on SQLite and PostgreSQL.

Only that it works is checked here, never how fast: timings on a shared CI machine mean nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from bench.intake import Options, run_intake
from storage.db import Database
from storage.models import Application, Certification, Outcome, SeatOffer

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "intake.py"


async def test_a_small_intake_reproduces_its_funnel_through_the_real_commands(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = await run_intake(db, Options(applicants=24, passed=20, selected=14), tmp_path)

    out = capsys.readouterr().out
    assert "Terdaftar 24 -> Lolos administrasi 20 -> Terpilih 14 -> Kompeten 13 -> Bekerja/usaha" in out
    assert "20 pass, 4 fail, 0 unchanged, 0 without a decision, 0 rows with errors" in out  # the import's preview
    assert "quota 14, 0 seats held, 14 free; 14 selected, 6 waitlisted, 0 not selected" in out
    assert "Training day 1: 14 marked present, 0 marked absent." in out  # --all-present
    assert "the waitlist closed; 5 waitlisted are not selected" in out
    assert "11 present, 3 absent, 0 unchanged, 0 blank, 0 rows with errors" in out  # the attendance sheet
    async with db.transaction() as session:
        stages = Counter(await session.scalars(select(Application.stage)))
        answers = Counter(await session.scalars(select(SeatOffer.answer)))
        competent = Counter(await session.scalars(select(Certification.competent)))
        outcomes = list(await session.scalars(select(Outcome)))
    # One decliner's seat went to the first on the waitlist, who confirmed: 14 seated; the 5 still
    # waiting when the training started were told the seats are full (the waitlist closed).
    assert stages == {"admin_failed": 4, "competent": 13, "not_yet_competent": 1, "withdrawn": 1, "not_selected": 5}
    assert answers == {"confirmed": 14, "declined": 1}
    assert competent == {True: 13, False: 1}
    assert len(outcomes) == 14  # every graduate asked once
    answered = [o for o in outcomes if o.status is not None]
    assert len(answered) == figures.answered > 0
    assert figures.working_or_business == sum(1 for o in answered if o.status in ("working", "self_employed"))


def test_the_script_runs_from_the_command_line_and_ends_with_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--applicants", "6", "--passed", "4", "--selected", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert "Terdaftar 6 -> Lolos administrasi 4 -> Terpilih 2 -> Kompeten 2 -> Bekerja/usaha" in done.stdout
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["database"], summary["registered"], summary["passed"], summary["selected"]) == ("sqlite", 6, 4, 2)
