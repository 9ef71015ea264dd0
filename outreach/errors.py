"""What a channel's sender may answer, in the platform's absence.

Handlers map their platform's errors onto these (Telegram's RetryAfter, Forbidden, BadRequest,
NetworkError), so the delivery loop decides retries without knowing any platform.
"""

from __future__ import annotations

from storage.errors import BlkbotError


class SendError(BlkbotError):
    """A message did not go out."""


class RateLimited(SendError):
    """The platform asked us to wait (HTTP 429): everyone slows down, the message waits."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after:g}s")
        self.retry_after = retry_after


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
