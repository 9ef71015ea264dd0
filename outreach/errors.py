"""What a channel's sender may answer, in the platform's absence.

Handlers map their platform's errors onto these (Telegram's RetryAfter, Forbidden, BadRequest,
NetworkError), so the delivery loop decides retries without knowing any platform.
"""

from __future__ import annotations

from storage.errors import BlkbotError


class SendError(BlkbotError):
    """A message did not go out."""


class RateLimited(SendError):
    """The platform asked us to wait (HTTP 429): everyone stops that long, the message waits.
    With `slow_down` (WhatsApp's 130429, "throughput reached", which names no wait) it asks for a
    slower pace instead: everyone pauses `retry_after` and the rate is cut for a while."""

    def __init__(self, retry_after: float, *, slow_down: bool = False) -> None:
        super().__init__(f"{'throughput limit' if slow_down else 'rate limited'}, retry after {retry_after:g}s")
        self.retry_after = retry_after
        self.slow_down = slow_down


class Unreachable(SendError):
    """The person blocked the bot or left (HTTP 403): never retried, they are unsubscribed."""


class MarkupRejected(SendError):
    """The platform could not parse the message's markup: it goes again as plain text."""


class Rejected(SendError):
    """The platform refused the message for good (HTTP 400): retrying cannot help."""


class TransientSendError(SendError):
    """A timeout, a dropped connection or a 5xx: worth another try later."""


class NeedsTemplate(SendError):
    """The person's 24-hour window is closed and no approved template fits this kind of message:
    the row is held (status needs_template) until one is configured, never dropped."""


class RetryLater(SendError):
    """This one person cannot take the message now (WhatsApp's pair rate, its marketing limit per
    person): only this row waits `delay` seconds; nobody else slows down. `counts`: the wait uses
    up an attempt, so a limit that never lifts ends as failed with the reason."""

    def __init__(self, reason: str, delay: float, *, counts: bool) -> None:
        super().__init__(reason)
        self.delay = delay
        self.counts = counts


class AccountRefused(SendError):
    """The platform refused our credentials (WhatsApp's expired token, code 190): nothing can go out
    on this channel until an operator acts. Everything stays queued; sending is tried again after
    `retry_after` seconds and resumes by itself once that works."""

    def __init__(self, reason: str, retry_after: float = 60.0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
