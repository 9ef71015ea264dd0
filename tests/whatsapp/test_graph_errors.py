"""Meta's error answers, mapped to what the delivery loop does with the message."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.whatsapp.graph import RATE_LIMIT_WAIT, THROUGHPUT_WAIT, map_error
from outreach.errors import (
    AccountRefused,
    NeedsTemplate,
    RateLimited,
    Rejected,
    RetryLater,
    TransientSendError,
    Unreachable,
)


def graph_error(code: int, message: str = "…") -> dict[str, Any]:
    return {
        "error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}
    }


@pytest.mark.parametrize(
    ("status", "document", "outcome"),
    [
        (400, graph_error(130429, "Rate limit hit"), RateLimited),
        (400, graph_error(131056, "(Business Account, Consumer Account) pair rate limit hit"), RetryLater),
        (400, graph_error(80007), RateLimited),
        (400, graph_error(131047, "Re-engagement message"), NeedsTemplate),
        (400, graph_error(131026, "Message Undeliverable"), Unreachable),
        (400, graph_error(133010, "Phone number not registered"), Unreachable),
        (500, graph_error(131000, "Something went wrong"), TransientSendError),
        (503, graph_error(131016, "Service unavailable"), TransientSendError),
        (
            400,
            graph_error(131049, "This message was not delivered to maintain healthy ecosystem engagement"),
            RetryLater,
        ),
        (401, graph_error(190, "Error validating access token"), AccountRefused),
        (400, graph_error(100, "Invalid parameter"), Rejected),
        (400, graph_error(132001, "Template name does not exist in the translation"), Rejected),
        (429, {}, RateLimited),
        (502, {}, TransientSendError),
        (404, "not json", Rejected),
    ],
)
def test_error_table(status: int, document: Any, outcome: type[Exception]) -> None:
    assert type(map_error(status, document)) is outcome


def test_rate_limit_waits_what_the_header_says_or_a_minute() -> None:
    limited = map_error(429, {}, "7")
    assert isinstance(limited, RateLimited) and limited.retry_after == 7.0
    guessed = map_error(400, graph_error(80007), None)
    assert isinstance(guessed, RateLimited) and guessed.retry_after == RATE_LIMIT_WAIT


def test_throughput_limit_without_a_header_is_a_slow_down_not_a_stop() -> None:
    throughput = map_error(400, graph_error(130429, "Rate limit hit"), None)
    assert isinstance(throughput, RateLimited) and throughput.retry_after == THROUGHPUT_WAIT
    assert throughput.slow_down  # the budget pauses a moment and slows down, not a full stop
    told = map_error(400, graph_error(130429, "Rate limit hit"), "3")
    assert isinstance(told, RateLimited) and told.retry_after == 3.0


def test_the_reason_names_the_code_and_meta_message() -> None:
    assert str(map_error(400, graph_error(131047, "Re-engagement message"))) == (
        "WhatsApp 131047: Re-engagement message (outside the 24-hour window)"
    )


def test_pair_rate_waits_for_that_person_only_and_marketing_limit_counts_attempts() -> None:
    pair = map_error(400, graph_error(131056))
    marketing = map_error(400, graph_error(131049))
    assert isinstance(pair, RetryLater) and not pair.counts and pair.delay > 0
    assert isinstance(marketing, RetryLater) and marketing.counts and marketing.delay > pair.delay
