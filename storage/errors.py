"""The root of blkbot's exceptions, kept at the bottom layer so every layer can raise and catch it."""


class BlkbotError(Exception):
    """Base class of every error blkbot raises on purpose."""


class StaleConversation(BlkbotError):
    """Another worker saved this conversation first; the turn must be retried on fresh state."""


class AlreadyAnswered(BlkbotError):
    """The stored message a turn answers was answered already: by an attempt whose commit went
    through although its connection died, or by a worker that took it over after a lease ran out.
    The turn is rolled back, not taken twice."""
