"""Eligibility rules as catalog data, and the checks that apply them.

A programme lists its rules in the catalog; the registration flow asks the self-declared ones
before any personal data, and checks age, schooling and training history once those are known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, TypeAlias

from training.education import Education
from training.errors import BlkbotError
from training.text import LocalText

BUILT_IN_QUALIFYING: Final[Mapping[str, bool]] = {"healthy": True, "not_working": False, "never_trained": False}
"""Self-declared rules whose question and reason are templates (messages/*/eligibility/), with the
answer to the question as asked that meets the rule. Questions are asked positively ("are you
working or studying?"), since a double negative answered "ngga" turned people away by mistake;
the key still names what must hold (not_working), and so does the stored answer."""

KNOWN_DECLARATIONS = tuple(BUILT_IN_QUALIFYING)


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
    """A yes/no question the resident answers about themself.

    For a catalog's own key, `expect` is the answer to its `question` that passes, and `reason` is
    what those who answer otherwise read, so staff can add a rule (say, "a migrant-worker
    candidate") without code. Built-in keys take their words from templates, and `expect` says
    whether what the key names must hold (`false` turns the rule round). `disability_welcome`
    (healthy only) tells people with disabilities, in the question, that they may register.
    """

    key: str
    expect: bool = True
    question: LocalText | None = None
    reason: LocalText | None = None
    disability_welcome: bool = False
    kind: str = field(default="declaration", init=False)

    @property
    def qualifying(self) -> bool:
        """The answer to the question as the resident reads it that meets the rule."""
        if self.key in BUILT_IN_QUALIFYING:
            return BUILT_IN_QUALIFYING[self.key] == self.expect
        return self.expect

    def holds(self, answer: bool) -> bool:
        """Whether what the key names holds, given the answer to the question as asked."""
        return answer if self.key not in BUILT_IN_QUALIFYING else answer == BUILT_IN_QUALIFYING[self.key]

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
                return Declaration(
                    key=kind,
                    expect=_flag(raw, "expect", default=True),
                    disability_welcome=kind == "healthy" and _flag(raw, "disability_welcome", default=False),
                )
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
            if rule.disability_welcome:
                out["disability_welcome"] = True
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
    if answer == rule.qualifying:
        return None
    if rule.key in KNOWN_DECLARATIONS:
        return Failure(rule.key, f"eligibility/{rule.key}_failed")
    return Failure(rule.key, "eligibility/declaration_failed", text=rule.reason)


def declared(rules: Sequence[Rule], answers: Mapping[str, Any]) -> dict[str, bool]:
    """The yes/no answers as stored on an application: for each question, whether what its key names
    holds (q_not_working is true for someone not working), whichever way the question was asked."""
    out: dict[str, bool] = {}
    for rule in questions(rules):
        key = answer_key(rule)
        if key in answers:
            out[key] = rule.holds(answers[key]) if isinstance(rule, Declaration) else bool(answers[key])
    return out


def as_asked(rules: Sequence[Rule], stored: Mapping[str, Any]) -> dict[str, bool]:
    """The stored answers turned back into answers to the questions as worded today (for /dataku)."""
    return declared(rules, stored)  # turning a positive question's answer round is its own inverse


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


def _flag(raw: Mapping[str, Any], key: str, *, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise RuleError(f"'{key}' must be true or false, got {value!r}")
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
    expect = _flag(raw, "expect", default=True)
    question, reason = _local_text(raw, "question"), _local_text(raw, "reason")
    if key not in KNOWN_DECLARATIONS and not (question and reason):
        raise RuleError(
            f"declaration {key!r} needs a 'question' and a 'reason' "
            f"(only {', '.join(KNOWN_DECLARATIONS)} have built-in words)"
        )
    welcome = key == "healthy" and _flag(raw, "disability_welcome", default=False)
    return Declaration(key=key, expect=expect, question=question, reason=reason, disability_welcome=welcome)
