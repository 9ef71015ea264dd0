"""Eligibility rules as catalog data, and the checks that apply them.

A programme lists its rules in the catalog; the registration flow asks the self-declared ones
before any personal data, and checks age, schooling and training history once those are known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeAlias

from training.education import Education
from training.errors import BlkbotError
from training.text import LocalText

KNOWN_DECLARATIONS = ("healthy", "not_working", "never_trained")
"""Self-declared rules whose question and reason are templates (messages/*/eligibility/)."""


class RuleError(BlkbotError):
    """A rule in the catalog that cannot be understood; the message names the key."""


@dataclass(frozen=True)
class MinAge:
    years: int
    kind: str = field(default="min_age", init=False)


@dataclass(frozen=True)
class MaxAge:
    years: int
    kind: str = field(default="max_age", init=False)


@dataclass(frozen=True)
class KtpRegion:
    """The resident holds a KTP of one of these regions ("33.75"): asked, and checked on the NIK."""

    regions: tuple[str, ...]
    kind: str = field(default="ktp_region", init=False)


@dataclass(frozen=True)
class MinEducation:
    level: Education
    kind: str = field(default="min_education", init=False)


@dataclass(frozen=True)
class Declaration:
    """A yes/no question the resident answers about themself; `expect` is the answer that passes.

    Known keys take their words from templates; any other key must bring its own `question` and
    `reason` in the catalog, so staff can add a rule (say, "a migrant-worker candidate") without code.
    """

    key: str
    expect: bool = True
    question: LocalText | None = None
    reason: LocalText | None = None
    kind: str = field(default="declaration", init=False)

    @property
    def checks_history(self) -> bool:
        """`never_trained` is also checked against the office's list of past participants."""
        return self.key == "never_trained"


Rule: TypeAlias = MinAge | MaxAge | KtpRegion | MinEducation | Declaration


@dataclass(frozen=True)
class Failure:
    """Why a resident does not qualify: `rule` names the rule for staff figures, `template` words it."""

    rule: str
    template: str
    params: Mapping[str, Any] = field(default_factory=dict)
    text: LocalText | None = None


def parse_rule(raw: Mapping[str, Any]) -> Rule:
    """Build a rule from its catalog (or stored JSON) form; raise RuleError naming the bad key."""
    kind = raw.get("kind")
    try:
        match kind:
            case "min_age":
                return MinAge(_positive_int(raw, "years"))
            case "max_age":
                return MaxAge(_positive_int(raw, "years"))
            case "ktp_region":
                regions = raw.get("regions")
                if not regions or not all(isinstance(r, str) for r in regions):
                    raise RuleError("'regions' must be a non-empty list of region codes like \"33.75\"")
                return KtpRegion(tuple(regions))
            case "min_education":
                level = raw.get("level")
                try:
                    return MinEducation(Education(level))
                except ValueError:
                    allowed = ", ".join(e.value for e in Education)
                    raise RuleError(f"'level' must be one of {allowed}, got {level!r}") from None
            case "declaration":
                return _declaration(raw)
            case str() if kind in KNOWN_DECLARATIONS:
                return Declaration(key=kind, expect=bool(raw.get("expect", True)))
            case _:
                known = ", ".join(
                    ("min_age", "max_age", "ktp_region", "min_education", "declaration", *KNOWN_DECLARATIONS)
                )
                raise RuleError(f"unknown rule kind {kind!r}; known kinds: {known}")
    except KeyError as missing:
        raise RuleError(f"rule {kind!r} needs the key {missing}") from None


def rule_to_json(rule: Rule) -> dict[str, Any]:
    """The stored form of a rule, read back by `parse_rule`."""
    match rule:
        case MinAge(years) | MaxAge(years):
            return {"kind": rule.kind, "years": years}
        case KtpRegion(regions):
            return {"kind": "ktp_region", "regions": list(regions)}
        case MinEducation(level):
            return {"kind": "min_education", "level": level.value}
        case Declaration():
            out: dict[str, Any] = {"kind": "declaration", "key": rule.key, "expect": rule.expect}
            if rule.question:
                out["question"] = dict(rule.question)
            if rule.reason:
                out["reason"] = dict(rule.reason)
            return out
    raise TypeError(rule)


def parse_rules(raw: Iterable[Mapping[str, Any]]) -> tuple[Rule, ...]:
    return tuple(parse_rule(r) for r in raw)


def questions(rules: Sequence[Rule]) -> list[KtpRegion | Declaration]:
    """The rules the resident answers yes or no to, in catalog order, before any personal data."""
    return [r for r in rules if isinstance(r, KtpRegion | Declaration)]


def answer_key(rule: KtpRegion | Declaration) -> str:
    """Where a yes/no answer is kept (step name, stored answers, export column): q_healthy, q_ktp_region."""
    return f"q_{rule.key if isinstance(rule, Declaration) else rule.kind}"


def check_declaration(rule: KtpRegion | Declaration, answer: bool) -> Failure | None:
    if isinstance(rule, KtpRegion):
        if answer:
            return None
        return Failure("ktp_region", "eligibility/ktp_region_failed", {"regions": rule.regions})
    if answer == rule.expect:
        return None
    if rule.key in KNOWN_DECLARATIONS:
        return Failure(rule.key, f"eligibility/{rule.key}_failed")
    return Failure(rule.key, "eligibility/declaration_failed", text=rule.reason)


def age_on(birth_date: date, day: date) -> int:
    """Whole years of age on `day` (a 29 February birthday counts from 1 March in other years)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def check_age(rules: Sequence[Rule], birth_date: date, on: date) -> Failure | None:
    """Age is computed on the programme's start date, as offices count it."""
    age = age_on(birth_date, on)
    for rule in rules:
        if isinstance(rule, MinAge) and age < rule.years:
            return Failure("min_age", "eligibility/min_age_failed", {"years": rule.years, "age": age, "on": on})
        if isinstance(rule, MaxAge) and age > rule.years:
            return Failure("max_age", "eligibility/max_age_failed", {"years": rule.years, "age": age, "on": on})
    return None


def check_education(rules: Sequence[Rule], level: Education) -> Failure | None:
    for rule in rules:
        if isinstance(rule, MinEducation) and level.rank < rule.level.rank:
            return Failure("min_education", "eligibility/min_education_failed", {"level": rule.level.value})
    return None


def needs_education(rules: Sequence[Rule]) -> bool:
    return any(isinstance(r, MinEducation) for r in rules)


def check_history(rules: Sequence[Rule], past_year: int | None) -> Failure | None:
    """A NIK on the past-participants list fails a `never_trained` rule whatever was declared."""
    if past_year is None:
        return None
    for rule in rules:
        if isinstance(rule, Declaration) and rule.checks_history and rule.expect:
            return Failure("never_trained", "eligibility/past_participant", {"year": past_year})
    return None


def region_flag(rules: Sequence[Rule], nik_region: str) -> str | None:
    """A NIK from outside the allowed regions is flagged for staff, never rejected (people move)."""
    allowed = [code for r in rules if isinstance(r, KtpRegion) for code in r.regions]
    if not allowed or nik_region in allowed:
        return None
    return "nik_region_outside"


def _positive_int(raw: Mapping[str, Any], key: str) -> int:
    value = raw[key]
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise RuleError(f"'{key}' must be a positive whole number, got {value!r}")
    return value


def _local_text(raw: Mapping[str, Any], key: str) -> LocalText | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return {"id": value}
    if isinstance(value, Mapping) and value and all(isinstance(v, str) for v in value.values()):
        return dict(value)
    raise RuleError(f"'{key}' must be text or a table of texts per language, got {value!r}")


def _declaration(raw: Mapping[str, Any]) -> Declaration:
    key = raw["key"]
    if not isinstance(key, str) or not key.isidentifier():
        raise RuleError(f"'key' must be a short name like \"pmi_candidate\", got {key!r}")
    expect = raw.get("expect", True)
    if not isinstance(expect, bool):
        raise RuleError(f"'expect' must be true or false, got {expect!r}")
    question, reason = _local_text(raw, "question"), _local_text(raw, "reason")
    if key not in KNOWN_DECLARATIONS and not (question and reason):
        raise RuleError(
            f"declaration {key!r} needs a 'question' and a 'reason' "
            f"(only {', '.join(KNOWN_DECLARATIONS)} have built-in words)"
        )
    return Declaration(key=key, expect=expect, question=question, reason=reason)
