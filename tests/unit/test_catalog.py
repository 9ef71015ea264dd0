"""The catalog file: the shipped demo, and problems named by file, line and key."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from training.catalog import Catalog, Funding, OfficeContact, VenueKind, training_days
from training.catalog_file import CatalogInvalid, parse_catalog, parse_catalog_text
from training.education import Education
from training.eligibility import Declaration, KtpRegion, MaxAge, MinAge, MinEducation
from training.errors import CatalogError

DEMO = Path(__file__).resolve().parents[2] / "training" / "demo" / "catalog.toml"
DEMO_TODAY = date(2026, 11, 25)

BASE = """\
[city]
name = "Kota Pekalongan"
region = "33.75"
office = "Dinas Perindustrian dan Tenaga Kerja Kota Pekalongan"
timezone = "Asia/Jakarta"

[[region]]
code = "33.75"
name = "Kota Pekalongan"

[[district]]
code = "33.75.01"
name = "Pekalongan Barat"

[[cluster]]
code = "LAS"
name = { id = "Teknik Las", en = "Welding" }

[[venue]]
code = "BLK-PKL"
kind = "BLK"
name = "UPT BLK Kota Pekalongan"
address = "Jl. Jenderal Sudirman No. 52"

[[programme]]
code = "LAS1"
cluster = "LAS"
venue = "BLK-PKL"
name = { id = "Pengelasan SMAW Dasar", en = "Basic SMAW welding" }
funding = "APBD"
wave = 1
registration = { opens = 2026-11-01, closes = 2027-01-15 }
training = { starts = 2027-02-01, ends = 2027-02-26 }
quota = 16
rules = [
  { kind = "ktp_region", regions = ["33.75"] },
  { kind = "min_age", years = 18 },
  { kind = "healthy" },
]
"""

SECOND_PROGRAMME = """
[[programme]]
code = "LAS2"
cluster = "LAS"
venue = "BLK-PKL"
name = "Pengelasan SMAW Lanjut"
funding = "DBHCHT"
wave = 1
registration = { opens = 2026-11-01, closes = 2027-02-15 }
training = { starts = 2027-03-01, ends = 2027-03-26 }
quota = 20
rules = []
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def line_of(text: str, fragment: str, nth: int = 1) -> int:
    """The 1-based line of the nth line containing `fragment`."""
    lines = [i for i, line in enumerate(text.split("\n"), 1) if fragment in line]
    return lines[nth - 1]


def problems(text: str) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        parse_catalog_text(text, "catalog.toml")
    assert isinstance(caught.value, CatalogInvalid)
    return [p.render("catalog.toml") for p in caught.value.problems]


def only_problem(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# --- the shipped demo catalog ------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> Catalog:
    return parse_catalog(DEMO)


def test_demo_city_regions_and_districts(demo: Catalog) -> None:
    assert demo.city.name == "Kota Pekalongan"
    assert demo.city.region == "33.75"
    assert demo.city.office == "Dinas Perindustrian dan Tenaga Kerja Kota Pekalongan"
    assert demo.city.timezone == "Asia/Jakarta"
    assert {r.code: r.name for r in demo.regions} == {
        "33.75": "Kota Pekalongan",
        "33.26": "Kabupaten Pekalongan",
        "33.25": "Kabupaten Batang",
    }
    assert [(d.code, d.name) for d in demo.districts] == [
        ("33.75.01", "Pekalongan Barat"),
        ("33.75.02", "Pekalongan Timur"),
        ("33.75.03", "Pekalongan Utara"),
        ("33.75.04", "Pekalongan Selatan"),
    ]


def test_demo_city_says_how_to_reach_the_office(demo: Catalog) -> None:
    assert demo.city.contact == OfficeContact(
        phone="(0285) 421234",
        whatsapp="0812-2600-4411",
        email="pelatihan.dinperinaker@pekalongankota.go.id",
        address="Jl. Sriwijaya No. 44, Kota Pekalongan",
        hours="Senin–Kamis 07.30–15.30, Jumat 07.30–11.00",
    )


def test_demo_clusters_speak_both_languages(demo: Catalog) -> None:
    assert len(demo.clusters) >= 8
    for cluster in demo.clusters:
        assert cluster.name["id"] and cluster.name["en"], cluster.code
    names = {c.name["id"] for c in demo.clusters}
    for expected in ("Tata Boga", "Tata Rias", "Teknik Las", "Menjahit", "Mengemudi", "Barista"):
        assert expected in names


def test_demo_venues(demo: Catalog) -> None:
    kinds = [v.kind for v in demo.venues]
    assert kinds.count(VenueKind.BLK) == 1
    assert kinds.count(VenueKind.LPKS) >= 3
    assert kinds.count(VenueKind.BLKK) == 1
    assert kinds.count(VenueKind.OTHER) == 1
    blk = next(v for v in demo.venues if v.kind is VenueKind.BLK)
    assert blk.name == "UPT BLK Kota Pekalongan"
    assert all(v.address for v in demo.venues)


def test_demo_programmes_are_realistic(demo: Catalog) -> None:
    programmes = demo.programmes
    assert len(programmes) >= 10
    clusters = {c.code: c for c in demo.clusters}
    venues = {v.code for v in demo.venues}
    for p in programmes:
        assert p.cluster in clusters and p.venue in venues, p.code
        assert 16 <= p.quota <= 20, p.code
        days = (p.training_ends - p.training_starts).days + 1
        assert 10 <= days <= 30, (p.code, days)
        assert p.registration_closes < p.training_starts, p.code
        assert p.description and p.description["id"] and p.description["en"], p.code
        assert re.fullmatch(r"[A-Z0-9-]{2,12}", p.code)
        assert len(f"{p.code}-2027-0001".encode()) < 64
    assert {p.funding for p in programmes} >= {Funding.APBD, Funding.APBD_PROVINSI, Funding.DBHCHT}
    assert len({p.venue for p in programmes}) == len(demo.venues), "every venue is used"
    driving = [p for p in programmes if clusters[p.cluster].name["id"] == "Mengemudi"]
    assert driving
    for p in driving:
        assert (p.training_ends - p.training_starts).days + 1 == 20


def test_demo_has_exactly_one_closed_window(demo: Catalog) -> None:
    closed = [p for p in demo.programmes if not p.is_open(DEMO_TODAY)]
    assert len(closed) == 1
    assert closed[0].registration_closes.year == 2026
    assert closed[0].registration_closes < DEMO_TODAY
    for p in demo.programmes:
        if p in closed:
            continue
        assert p.wave == 1 and p.training_starts.year == 2027, p.code
        assert date(2027, 1, 15) <= p.registration_closes <= date(2027, 6, 30), p.code


def test_demo_rules(demo: Catalog) -> None:
    by_code = {p.code: p for p in demo.programmes}

    def regions(p):
        return [r.regions for r in p.rules if isinstance(r, KtpRegion)]

    three = [p for p in demo.programmes if regions(p) == [("33.75", "33.26", "33.25")]]
    assert len(three) == 1
    assert [p for p in demo.programmes if MaxAge(35) in p.rules]
    assert [p for p in demo.programmes if MinEducation(Education.SMA) in p.rules]

    custom = [
        (p, r) for p in demo.programmes for r in p.rules if isinstance(r, Declaration) and r.key == "pmi_candidate"
    ]
    assert len(custom) == 1
    programme, rule = custom[0]
    assert programme.cluster == "LAS"
    assert rule.question and rule.question["id"] and rule.question["en"]
    assert rule.reason and rule.reason["id"] and rule.reason["en"]

    usual = [
        KtpRegion(("33.75",)),
        MinAge(18),
        Declaration("healthy"),
        Declaration("not_working"),
        Declaration("never_trained"),
    ]
    for p in by_code.values():
        for rule in usual:
            if isinstance(rule, KtpRegion):
                assert regions(p), p.code
            else:
                assert rule in p.rules, (p.code, rule)


def test_parse_catalog_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(edit("quota = 16", "quota = 0"), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        parse_catalog(path)
    assert str(caught.value).startswith(f"{path} line {line_of(BASE, 'quota = 16')}: ")
    assert caught.value.source == str(path)


def test_a_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        parse_catalog(tmp_path / "nope.toml")


# --- a valid base, and each problem named by line and key -----------------------------------------


def test_base_parses() -> None:
    catalog = parse_catalog_text(BASE, "catalog.toml")
    (programme,) = catalog.programmes
    assert programme.code == "LAS1"
    assert programme.funding is Funding.APBD
    assert programme.registration_opens == date(2026, 11, 1)
    assert programme.training_ends == date(2027, 2, 26)
    assert programme.rules == (KtpRegion(("33.75",)), MinAge(18), Declaration("healthy"))
    assert programme.description is None


def test_plain_string_name_is_indonesian() -> None:
    catalog = parse_catalog_text(BASE + SECOND_PROGRAMME, "catalog.toml")
    assert catalog.programmes[1].name == {"id": "Pengelasan SMAW Lanjut"}
    assert catalog.programmes[1].rules == ()
    text = edit('name = { id = "Teknik Las", en = "Welding" }', 'name = "Teknik Las"')
    assert parse_catalog_text(text, "x").clusters[0].name == {"id": "Teknik Las"}


def test_quota_not_a_number() -> None:
    text = edit("quota = 16", 'quota = "ten"')
    assert only_problem(text) == (
        f'catalog.toml line {line_of(text, "quota")}: programme "LAS1": '
        "quota must be a positive whole number, got 'ten'"
    )


def test_single_problem_reads_as_one_line() -> None:
    with pytest.raises(CatalogError) as caught:
        parse_catalog_text(edit("wave = 1", "wave = 0"), "catalog.toml")
    line = line_of(BASE, "wave = 1")
    assert str(caught.value) == (
        f'catalog.toml line {line}: programme "LAS1": wave must be a positive whole number, got 0'
    )
    assert caught.value.line == line


def test_unknown_key_suggests_the_right_one() -> None:
    text = edit("quota = 16", "qouta = 16")
    found = problems(text)
    assert (
        f'catalog.toml line {line_of(text, "qouta")}: programme "LAS1": unknown key '
        + ("'qouta' (did you mean 'quota'?)")
        in found
    )
    # the missing key is reported at the programme's header
    assert (
        f"catalog.toml line {line_of(text, '[[programme]]')}: programme \"LAS1\": missing required key 'quota'"
    ) in found


def test_unknown_table_suggests_the_right_one() -> None:
    text = edit("[[programme]]", "[[programmes]]")
    assert only_problem(text) == (
        f"catalog.toml line {line_of(text, '[[programmes]]')}: unknown table 'programmes' (did you mean 'programme'?)"
    )


def test_unknown_key_in_an_inline_table() -> None:
    text = edit("closes = 2027-01-15", "close = 2027-01-15")
    found = problems(text)
    line = line_of(text, "registration =")
    assert (
        f"catalog.toml line {line}: programme \"LAS1\": unknown key 'registration.close' "
        "(did you mean 'registration.closes'?)"
    ) in found
    assert any("missing required key 'registration.closes'" in p for p in found)


def test_duplicate_code() -> None:
    text = BASE + SECOND_PROGRAMME.replace('code = "LAS2"', 'code = "LAS1"')
    first, second = line_of(text, 'code = "LAS1"', 1), line_of(text, 'code = "LAS1"', 2)
    assert only_problem(text) == (
        f"catalog.toml line {second}: programme \"LAS1\": code 'LAS1' is used twice: "
        f"[[programme]] #1 at line {first} has it too"
    )


def test_unknown_cluster_reference() -> None:
    text = edit('cluster = "LAS"', 'cluster = "LSA"')
    assert only_problem(text) == (
        f'catalog.toml line {line_of(text, "cluster = ")}: programme "LAS1": '
        "cluster 'LSA' is not declared in any [[cluster]] (did you mean 'LAS'?)"
    )


def test_unknown_venue_reference() -> None:
    text = edit('venue = "BLK-PKL"', 'venue = "LPKS-X"')
    assert "venue 'LPKS-X' is not declared in any [[venue]]" in only_problem(text)


def test_dates_out_of_order() -> None:
    text = edit("starts = 2027-02-01", "starts = 2027-01-10")
    assert only_problem(text) == (
        f'catalog.toml line {line_of(text, "training =")}: programme "LAS1": '
        "training.starts (2027-01-10) is before registration.closes (2027-01-15); dates must "
        "run registration.opens <= registration.closes <= training.starts <= training.ends"
    )


def test_dates_must_be_dates() -> None:
    text = edit("opens = 2026-11-01", 'opens = "2026-11-01"')
    assert only_problem(text).endswith(
        "registration.opens must be a date like 2026-11-01, got '2026-11-01' (write dates without quotes)"
    )
    text = edit("opens = 2026-11-01", "opens = 2026-11-01T08:00:00")
    assert "registration.opens must be a date without a time" in only_problem(text)


def test_bad_timezone() -> None:
    text = edit('"Asia/Jakarta"', '"Asia/Jakart"')
    assert only_problem(text) == (
        f"catalog.toml line {line_of(text, 'timezone')}: city: timezone must be a time zone "
        "name like 'Asia/Jakarta', got 'Asia/Jakart' (did you mean 'Asia/Jakarta'?)"
    )


def test_bad_rule_kind_points_at_the_rule() -> None:
    text = edit('{ kind = "healthy" }', '{ kind = "helthy" }')
    found = only_problem(text)
    assert found.startswith(
        f"catalog.toml line {line_of(text, 'helthy')}: programme \"LAS1\": rules: rule 3: unknown rule kind 'helthy'"
    )


def test_rule_problems_on_one_line_point_at_rules() -> None:
    text = edit(
        """rules = [
  { kind = "ktp_region", regions = ["33.75"] },
  { kind = "min_age", years = 18 },
  { kind = "healthy" },
]""",
        'rules = [{ kind = "min_age", years = 18 }, { kind = "max_age", years = "x" }]',
    )
    assert only_problem(text) == (
        f'catalog.toml line {line_of(text, "rules =")}: programme "LAS1": rules: rule 2: '
        "'years' must be a positive whole number, got 'x'"
    )


def test_rule_sub_tables_are_located() -> None:
    text = edit(
        """rules = [
  { kind = "ktp_region", regions = ["33.75"] },
  { kind = "min_age", years = 18 },
  { kind = "healthy" },
]""",
        """
[[programme.rules]]
kind = "min_age"
years = 18

[[programme.rules]]
kind = "declaration"
key = "pmi_candidate"
question = { id = "Apakah Anda calon PMI?" }
""",
    )
    assert only_problem(text) == (
        f'catalog.toml line {line_of(text, "[[programme.rules]]", 2)}: programme "LAS1": '
        "rules: rule 2: declaration 'pmi_candidate' needs a 'question' and a 'reason' "
        "(only healthy, not_working, never_trained have built-in words)"
    )
    fixed = text.replace(
        'question = { id = "Apakah Anda calon PMI?" }',
        'question = { id = "Apakah Anda calon PMI?" }\nreason = "Khusus calon PMI."',
    )
    rules = parse_catalog_text(fixed, "x").programmes[0].rules
    assert rules[1] == Declaration(
        "pmi_candidate",
        question={"id": "Apakah Anda calon PMI?"},
        reason={"id": "Khusus calon PMI."},
    )


def test_rule_typos_and_references() -> None:
    text = edit('regions = ["33.75"]', 'regions = ["33.75", "33.26"], region = "x"')
    line = line_of(text, "ktp_region")
    assert problems(text) == [
        f"catalog.toml line {line}: programme \"LAS1\": rules: rule 1: unknown key 'region' "
        "for a ktp_region rule (did you mean 'regions'?)",
        f"catalog.toml line {line}: programme \"LAS1\": rules: rule 1: region '33.26' is not "
        "declared in any [[region]]",
    ]


def test_contradicting_and_repeated_rules() -> None:
    text = edit(
        '{ kind = "healthy" }',
        '{ kind = "max_age", years = 16 },\n  { kind = "min_age", years = 21 }',
    )
    found = problems(text)
    assert found == [
        f'catalog.toml line {line_of(text, "max_age")}: programme "LAS1": rules: rule 3: '
        "max_age (16) is below min_age (18) of rule 2, so nobody qualifies",
        f'catalog.toml line {line_of(text, "years = 21")}: programme "LAS1": rules: rule 4 '
        "repeats the min_age rule of rule 2",
    ]


def test_toml_syntax_error_names_its_line() -> None:
    text = edit("quota = 16", "quota = 16 16")
    with pytest.raises(CatalogError) as caught:
        parse_catalog_text(text, "catalog.toml")
    line = line_of(text, "quota = 16 16")
    assert caught.value.line == line
    assert str(caught.value).startswith(f"catalog.toml line {line}: not valid TOML: ")
    assert "(column 12)" in str(caught.value)


def test_toml_syntax_error_at_the_end() -> None:
    with pytest.raises(CatalogError) as caught:
        parse_catalog_text(BASE + 'x = "unterminated', "catalog.toml")
    assert caught.value.line == BASE.count("\n") + 1
    assert "not valid TOML: Unterminated string" in str(caught.value)


def test_several_problems_are_reported_together() -> None:
    text = edit("quota = 16", 'quota = "ten"')
    text = edit('"Asia/Jakarta"', '"Mars/Olympus"', text)
    text = edit('kind = "BLK"', 'kind = "blk"', text)
    text = edit('cluster = "LAS"', 'cluster = "LSA"', text)
    with pytest.raises(CatalogError) as caught:
        parse_catalog_text(text, "catalog.toml")
    message = str(caught.value)
    lines = message.split("\n")
    assert lines[0] == "catalog.toml: 4 problems:"
    assert [int(re.match(r"catalog\.toml line (\d+): ", x)[1]) for x in lines[1:]] == [
        line_of(text, "timezone"),
        line_of(text, 'kind = "blk"'),
        line_of(text, "cluster = "),
        line_of(text, "quota"),
    ]
    assert "got 'blk' (did you mean 'BLK'?)" in lines[2]


def test_codes_have_a_format() -> None:
    assert only_problem(edit('code = "LAS1"', 'code = "las1"')).endswith(
        "programme \"las1\": code must be 2-12 characters of A-Z, 0-9 and '-', starting and "
        "ending with a letter or digit, got 'las1' (did you mean 'LAS1'?)"
    )
    assert "got 'LAS1234567890'" in only_problem(edit('code = "LAS1"', 'code = "LAS1234567890"'))
    # cluster codes may be longer than programme codes, up to 16
    text = edit('code = "LAS"', 'code = "TEKNIK-LAS-SMAW"')
    text = edit('cluster = "LAS"', 'cluster = "TEKNIK-LAS-SMAW"', text)
    assert parse_catalog_text(text, "x").clusters[0].code == "TEKNIK-LAS-SMAW"
    text = edit('code = "33.75.01"', 'code = "33.75.1"')
    assert "must be a district code like \"33.75.01\", got '33.75.1'" in only_problem(text)


def test_regions_must_be_declared() -> None:
    text = edit('code = "33.75.01"', 'code = "33.76.01"')
    found = problems(text)
    assert any("code '33.76.01' lies in region '33.76', which is not declared in any [[region]]" in p for p in found)
    assert any("no [[district]] lies in the city's region '33.75'" in p for p in found)
    text = edit('region = "33.75"', 'region = "33.26"')
    assert "city: region '33.26' is not declared in any [[region]]" in only_problem(text)


def test_texts_need_indonesian_and_fit_buttons() -> None:
    text = edit('name = { id = "Teknik Las", en = "Welding" }', 'name = { en = "Welding" }')
    assert only_problem(text) == (
        f"catalog.toml line {line_of(text, 'Welding')}: cluster \"LAS\": name needs an 'id' (Bahasa Indonesia) text"
    )
    long = "Pelatihan " * 9  # 90 characters; the last space is trimmed
    text = edit('{ id = "Pengelasan SMAW Dasar"', f'{{ id = "{long}"')
    assert "name.id is 89 characters long; at most 80 fit (it is shown on buttons)" in (only_problem(text))
    text = edit('en = "Welding"', 'inggris = "Welding"')
    assert "unknown key 'name.inggris'" in only_problem(text)


def test_enumerations() -> None:
    text = edit('funding = "APBD"', 'funding = "APBD2"')
    assert "funding must be one of APBD, APBD_PROVINSI, DBHCHT, APBN, OTHER, got 'APBD2'" in only_problem(text)


def test_missing_city_and_wrong_shapes() -> None:
    text = BASE.split("[[region]]", 1)[1]
    assert problems("[[region]]" + text) == ["catalog.toml: missing the [city] table (name, region, office, timezone)"]
    text = edit("[city]", "[[city]]")
    assert "city must be one [city] table, not a list of them" in only_problem(text)


def test_office_contact_is_optional_and_checked_by_line() -> None:
    assert parse_catalog_text(BASE, "catalog.toml").city.contact == OfficeContact()
    good = edit(
        'timezone = "Asia/Jakarta"',
        'timezone = "Asia/Jakarta"\noffice_phone = "+62 285 421234"\noffice_hours = "Senin-Jumat 08.00-15.00"',
    )
    assert parse_catalog_text(good, "catalog.toml").city.contact == OfficeContact(
        phone="+62 285 421234", hours="Senin-Jumat 08.00-15.00"
    )

    text = edit(
        'timezone = "Asia/Jakarta"',
        'timezone = "Asia/Jakarta"\noffice_phone = "call us"\noffice_email = "kantor.go.id"\noffice_whatsapp = 812',
    )
    assert problems(text) == [
        f"catalog.toml line {line_of(text, 'office_phone')}: city: office_phone must be a phone number like "
        "'(0285) 421234' or '+62 812-2600-4411', got 'call us'",
        f"catalog.toml line {line_of(text, 'office_email')}: city: office_email must be an e-mail address like "
        "'kantor@kota.go.id', got 'kantor.go.id'",
        f"catalog.toml line {line_of(text, 'office_whatsapp')}: city: office_whatsapp must be text in quotes, got 812",
    ]


def test_multiline_strings_do_not_confuse_the_locator() -> None:
    text = edit(
        "funding = ",
        'description = """\nquota = 99\n[[programme]]\n"""\nfunding = ',
    )
    text = edit("quota = 16", 'quota = "ten"', text)
    # the first 'quota = ' line is inside the description
    assert only_problem(text).startswith(f'catalog.toml line {line_of(text, "quota = ", 2)}: programme "LAS1": quota')


def test_score_weights_and_seat_deadline_are_optional_and_read() -> None:
    assert parse_catalog_text(BASE, "catalog.toml").programmes[0].score_weights == ()
    text = edit(
        "quota = 16", 'quota = 16\nscore_weights = { written_test = 60, interview = 40.5 }\nseat_deadline = "2d"'
    )
    programme = parse_catalog_text(text, "catalog.toml").programmes[0]
    assert programme.score_weights == (("written_test", 60.0), ("interview", 40.5))
    assert programme.seat_deadline_hours == 48
    assert (
        parse_catalog_text(edit("quota = 16", 'quota = 16\nseat_deadline = "36h"'), "c")
        .programmes[0]
        .seat_deadline_hours
        == 36
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "score_weights = { written_test = 0 }",
            "score_weights.written_test must be a number above 0 and at most 1000",
        ),
        ('score_weights = { "Tes Tulis" = 50 }', "score_weights: 'Tes Tulis' is not a component name"),
        ("score_weights = 60", "score_weights must be a table like { written_test = 60, interview = 40 }, got 60"),
        ('seat_deadline = "2 weeks"', 'seat_deadline must be hours or days like "48h" or "3d", from 1h to 30d'),
        ('seat_deadline = "31d"', 'seat_deadline must be hours or days like "48h" or "3d", from 1h to 30d'),
    ],
)
def test_bad_selection_keys_name_their_line(line: str, message: str) -> None:
    text = edit("quota = 16", f"quota = 16\n{line}")
    problem = only_problem(text)
    assert problem.startswith(f'catalog.toml line {line_of(text, line.split(" =")[0])}: programme "LAS1": ')
    assert message in problem


@pytest.mark.parametrize(
    ("starts", "ends", "days"),
    [
        (date(2027, 1, 25), date(2027, 2, 12), 15),  # Monday to Friday three weeks later: 19 calendar days
        (date(2027, 2, 5), date(2027, 2, 8), 2),  # Friday to Monday: the weekend is no training
        (date(2027, 2, 6), date(2027, 2, 7), 0),  # a weekend alone
        (date(2027, 2, 3), date(2027, 2, 3), 1),
    ],
)
def test_training_days_count_monday_to_friday(starts: date, ends: date, days: int) -> None:
    assert training_days(starts, ends) == days
