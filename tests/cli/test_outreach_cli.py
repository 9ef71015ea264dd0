"""`blkbot broadcast`, `applications stage|import-results`, `deliver` and `staff`, as staff run them."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.cli import main
from conversations.context import Services
from conversations.runner import Conversations
from messages.render import Templates
from storage.db import Database
from storage.models import Application, Broadcast, DeliveryStatus, OutboxMessage, Stage
from storage.repositories import staff
from tests.cli.conftest import run
from tests.fakes.telegram_server import ThreadedFakeTelegramServer
from tests.flow.helpers import SITI, Resident, male_nik


def registered(url: str, *chats: int) -> None:
    """Residents registered through the conversation on Telegram, one application each."""

    async def go(db: Database) -> None:
        conversations = Conversations(db, Services(templates=Templates()))
        for i, chat in enumerate(chats):
            resident = Resident(conversations, str(chat), channel="telegram")
            await resident.walk_to_summary("LAS1", "LAS", replace(SITI, nik=male_nik(i + 1)))
            await resident.submit()

    assert main(["stats"]) == 0  # schema and demo catalog
    run(go, url)


def outbox(url: str) -> list[OutboxMessage]:
    async def go(db: Database) -> list[OutboxMessage]:
        async with db.transaction() as session:
            return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    return run(go, url)


def test_broadcast_shows_count_and_preview_and_queues_after_yes(
    cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    registered(cli_db, 101, 102)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))

    code = main(
        ["broadcast", "--segment", "cluster=LAS", "--text", "Tes las <besok> & lusa", "--button", "Info|https://x.id"]
    )

    out = capsys.readouterr().out
    assert code == 0
    assert "Segment: cluster=LAS — 2 recipients" in out
    assert "Tes las <besok> & lusa" in out and "[Info] -> https://x.id" in out
    assert "2 messages queued" in out
    assert [m.origin for m in outbox(cli_db)] == ["broadcast", "broadcast"]


def test_broadcast_not_confirmed_sends_nothing(
    cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    registered(cli_db, 101)
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))

    assert main(["broadcast", "--text", "Halo"]) == 1
    assert "Not sent." in capsys.readouterr().out
    assert outbox(cli_db) == []


def test_broadcast_with_a_bad_segment_says_what_is_allowed(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["broadcast", "--segment", "stage=hired", "--text", "x", "--yes"]) == 1
    assert "unknown stage 'hired'" in capsys.readouterr().err


def test_stage_change_tells_each_applicant_once(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    registered(cli_db, 101, 102)
    assert main(["applications", "stage", "LAS1-2027-0001", "las1-2027-0002", "--to", "selected"]) == 0
    assert main(["applications", "stage", "LAS1-2027-0001", "--to", "selected"]) == 0
    out = capsys.readouterr().out
    assert "2 moved to diterima (selected); 2 applicants will be told." in out
    assert "0 moved to diterima (selected); 0 applicants will be told." in out
    assert [m.dedupe_key.split(":")[2] for m in outbox(cli_db)] == ["selected", "selected"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("lolos-administrasi", "admin_passed"),
        ("Lolos Administrasi", "admin_passed"),
        ("tidak_lolos_administrasi", "admin_failed"),
        ("diterima", "selected"),
        ("cadangan", "waitlisted"),
        ("tidak-diterima", "not_selected"),
        ("not-selected", "not_selected"),
        ("mengundurkan-diri", "withdrawn"),
    ],
)
def test_staff_may_type_the_stage_in_indonesian_or_english(
    cli_db: str, capsys: pytest.CaptureFixture[str], typed: str, stored: str
) -> None:
    registered(cli_db, 101)
    reason = ["--reason", "KTP tidak terbaca"] if stored == "admin_failed" else []
    assert main(["applications", "stage", "LAS1-2027-0001", "--to", typed, *reason]) == 0
    assert f"({stored}); " in capsys.readouterr().out
    assert main(["applications", "stage", "LAS1-2027-0001", "--to", stored, *reason]) == 0
    assert "0 moved to " in capsys.readouterr().out


def test_stage_help_lists_every_stage_in_both_languages(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["applications", "stage", "--help"])
    shown = [line.split() for line in capsys.readouterr().out.splitlines()]
    for name, code in [
        ("terdaftar", "registered"),
        ("lolos-administrasi", "admin_passed"),
        ("tidak-lolos-administrasi", "admin_failed"),
        ("cadangan", "waitlisted"),
        ("diterima", "selected"),
        ("tidak-diterima", "not_selected"),
        ("pelatihan", "in_training"),
        ("kompeten", "competent"),
        ("belum-kompeten", "not_yet_competent"),
        ("mengundurkan-diri", "withdrawn"),
    ]:
        assert [name, code] in shown


def test_an_unknown_stage_is_refused_with_the_list(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    registered(cli_db, 101)
    assert main(["applications", "stage", "LAS1-2027-0001", "--to", "lolos"]) == 1
    err = capsys.readouterr().err
    assert "unknown stage 'lolos'" in err and "lolos-administrasi (admin_passed)" in err
    assert outbox(cli_db) == []


def test_stage_change_refuses_an_unknown_number_and_changes_nothing(
    cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    registered(cli_db, 101)
    assert main(["applications", "stage", "LAS1-2027-0001", "LAS1-2027-0099", "--to", "selected"]) == 1
    assert "no application LAS1-2027-0099" in capsys.readouterr().err
    assert outbox(cli_db) == []


def test_results_import_moves_every_row_or_none(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registered(cli_db, 101, 102)
    bad = tmp_path / "bad.csv"
    bad.write_text("number;stage;reason\nLAS1-2027-0001;kompeten;\nLAS1-2027-0002;hired;\n", encoding="utf-8")
    assert main(["applications", "import-results", str(bad)]) == 1
    assert f"{bad} line 3: unknown stage 'hired'" in capsys.readouterr().out
    assert outbox(cli_db) == []

    good = tmp_path / "hasil.csv"
    good.write_text(
        "\ufeffnumber,stage,reason\nLAS1-2027-0001,kompeten,\nLAS1-2027-0002,belum kompeten,Praktik belum lulus\n",
        encoding="utf-8",
    )
    assert main(["applications", "import-results", str(good), "--yes"]) == 0
    assert "2 applications changed; 2 applicants will be told." in capsys.readouterr().out

    async def stages(db: Database) -> list[tuple[str, str, str | None]]:
        async with db.transaction() as session:
            rows = await session.scalars(select(Application).order_by(Application.id))
            return [(a.number, a.stage, a.stage_reason) for a in rows]

    assert run(stages, cli_db) == [
        ("LAS1-2027-0001", Stage.COMPETENT, None),
        ("LAS1-2027-0002", Stage.NOT_YET_COMPETENT, "Praktik belum lulus"),
    ]


def test_deliver_once_sends_what_is_queued_through_the_bot_api(
    cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    registered(cli_db, 101, 102)
    assert main(["broadcast", "--text", "Halo semua", "--yes"]) == 0
    with ThreadedFakeTelegramServer() as fake:
        monkeypatch.setenv("BLKBOT_TELEGRAM_TOKEN", fake.server.token)
        monkeypatch.setenv("BLKBOT_TELEGRAM_BASE_URL", fake.base_url)
        assert main(["deliver", "--once"]) == 0
        texts = fake.run_sync(lambda: [m.plain_text for chat in (101, 102) for m in fake.server.messages(chat)])
    assert "sent 2, failed 0" in capsys.readouterr().out
    assert all("Halo semua" in t for t in texts) and len(texts) == 2
    assert {m.status for m in outbox(cli_db)} == {DeliveryStatus.SENT}

    async def reports(db: Database) -> list[Broadcast]:
        async with db.transaction() as session:
            return list(await session.scalars(select(Broadcast)))

    [sent] = run(reports, cli_db)
    assert main(["broadcast-report", str(sent.id)]) == 0
    out = capsys.readouterr().out
    assert "2/2  sent 2  failed 0  unreachable 0  pending 0" in out
    assert "Segment: all subscribers\n" in out
    wib = sent.created_at.astimezone(ZoneInfo("Asia/Jakarta"))
    assert f"at {wib:%Y-%m-%d %H:%M} WIB" in out and "UTC" not in out  # the office's time, as everywhere


def test_staff_add_and_list(cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLKBOT_STAFF", "telegram:42:admin")
    assert main(["staff", "add", "777", "Bu Rina", "--role", "operator"]) == 0
    assert main(["staff", "list"]) == 0
    out = capsys.readouterr().out
    assert "telegram:777\toperator\tall venues\tBu Rina" in out
    assert "telegram:42\tadmin\tall venues\t(from BLKBOT_STAFF)" in out


def staff_actions(url: str) -> list[tuple[str, str, str, str]]:
    async def go(db: Database) -> list[tuple[str, str, str, str]]:
        async with db.transaction() as session:
            return [(a.actor, a.role, a.action, a.target) for a in reversed(await staff.actions(session))]

    return run(go, url)


def test_staff_remove_takes_the_account_out_and_records_who_did_it(
    cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "kepala")
    monkeypatch.setenv("LOGNAME", "kepala")
    assert main(["staff", "add", "777", "Bu Rina"]) == 0
    assert main(["staff", "remove", "777"]) == 0
    assert "Bu Rina (telegram:777) is no longer staff" in capsys.readouterr().out
    assert main(["staff", "list"]) == 0
    assert "telegram:777" not in capsys.readouterr().out
    assert staff_actions(cli_db) == [
        ("cli:kepala", "admin", "staff_added", "telegram:777 as operator"),
        ("cli:kepala", "admin", "staff_removed", "telegram:777 (operator)"),
    ]


def test_staff_remove_of_an_account_in_blkbot_staff_says_to_edit_the_setting(
    cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLKBOT_STAFF", "telegram:42:admin")
    assert main(["staff", "list"]) == 0  # creates the database
    capsys.readouterr()
    assert main(["staff", "remove", "42"]) == 1
    err = capsys.readouterr().err
    assert "telegram:42 is listed in BLKBOT_STAFF; remove it from that setting" in err
    assert [a for a in staff_actions(cli_db) if a[2] == "staff_removed"] == []


def test_staff_remove_of_an_unknown_account_exits_1(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["staff", "list"]) == 0
    assert main(["staff", "remove", "999", "--channel", "telegram"]) == 1
    assert "blkbot: telegram:999 is not a staff account" in capsys.readouterr().err


def test_outbox_claims_carry_a_name_that_survives_a_restart_only_where_it_is_unique() -> None:
    import os
    import socket

    from bot.runtime import worker_name
    from bot.settings import Settings

    host, pid = socket.gethostname(), os.getpid()
    assert worker_name(Settings(workers=1), "bot") == f"{host}:bot"
    assert worker_name(Settings(workers=1), "deliver") == f"{host}:deliver"
    assert worker_name(Settings(workers=1), "broadcast") == f"{host}:broadcast:{pid}"  # runs beside the bot
    assert worker_name(Settings(workers=3), "bot") == f"{host}:bot:{pid}"


def test_a_delivery_process_sends_within_the_bots_budget_and_leaves_it_when_closed(cli_db: str) -> None:
    import asyncio

    from bot.runtime import delivery_loop
    from bot.settings import Settings
    from storage.repositories import budget_members

    registered(cli_db, 101)
    assert main(["broadcast", "--text", "Halo semua", "--yes"]) == 0

    async def members(db: Database) -> list[tuple[str, bool]]:
        async with db.transaction() as session:
            return [(m.role, m.answers) for m in await budget_members.members(session)]

    with ThreadedFakeTelegramServer() as fake:
        settings = Settings(database_url=cli_db, telegram_token=fake.server.token, telegram_base_url=fake.base_url)

        async def deliver() -> tuple[int, list[tuple[str, bool]]]:
            loop, close = await delivery_loop(settings, "deliver")
            try:
                stats = await loop.drain()  # its first message waits for its share of the bot's rate
                return stats.sent, await members(loop.db)
            finally:
                await close()

        sent, while_open = asyncio.run(deliver())
    assert sent == 1
    assert while_open == [("deliver", False)]  # it serves no conversation: no reply share
    assert run(members, cli_db) == []
