"""Declarations asked positively: which answer qualifies, what is stored, and the health rule's option."""

from __future__ import annotations

import pytest

from messages.render import Templates
from training.eligibility import (
    Declaration,
    RuleError,
    as_asked,
    check_declaration,
    declared,
    parse_rule,
    rule_to_json,
)


@pytest.mark.parametrize(("kind", "qualifying"), [("healthy", True), ("not_working", False), ("never_trained", False)])
def test_built_in_questions_name_the_answer_that_qualifies(kind: str, qualifying: bool) -> None:
    rule = parse_rule({"kind": kind})
    assert rule == Declaration(kind)
    assert check_declaration(rule, qualifying) is None
    failure = check_declaration(rule, not qualifying)
    assert failure is not None and failure.rule == kind


def test_a_catalog_question_qualifies_on_its_expect() -> None:
    rule = parse_rule(
        {"kind": "declaration", "key": "has_bank", "question": "Punya rekening?", "reason": "Perlu.", "expect": False}
    )
    assert check_declaration(rule, False) is None
    assert check_declaration(rule, True) is not None


def test_stored_answers_say_what_the_rule_names_and_turn_back_into_answers_as_asked() -> None:
    rules = (Declaration("healthy"), Declaration("not_working"), Declaration("never_trained"))
    given = {"q_healthy": True, "q_not_working": False, "q_never_trained": False, "education": "sma"}
    stored = declared(rules, given)
    assert stored == {"q_healthy": True, "q_not_working": True, "q_never_trained": True}
    assert as_asked(rules, stored) == {"q_healthy": True, "q_not_working": False, "q_never_trained": False}


def test_health_rule_may_welcome_people_with_disabilities(templates: Templates) -> None:
    rule = parse_rule({"kind": "healthy", "disability_welcome": True})
    assert isinstance(rule, Declaration) and rule.disability_welcome
    assert parse_rule(rule_to_json(rule)) == rule
    assert parse_rule(rule_to_json(Declaration("healthy"))) == Declaration("healthy")
    asked = templates.render("id", "eligibility/healthy_question", disability_welcome=True)
    assert "Penyandang disabilitas boleh mendaftar" in asked
    assert "sehat jasmani dan rohani" not in asked
    assert "disabilitas" not in templates.render("id", "eligibility/healthy_question", disability_welcome=False)
    with pytest.raises(RuleError, match="'disability_welcome' must be true or false"):
        parse_rule({"kind": "healthy", "disability_welcome": "ya"})
