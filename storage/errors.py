"""The root of blkbot's exceptions, kept at the bottom layer so every layer can raise and catch it."""


class BlkbotError(Exception):
    """Base class of every error blkbot raises on purpose."""


class StaleConversation(BlkbotError):
    """Another worker saved this conversation first; the turn must be retried on fresh state."""
