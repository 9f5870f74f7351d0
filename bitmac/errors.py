"""Errors the command line reports on one line, without a traceback."""

__all__ = ["BitmacError", "ToolNotFoundError", "NotAvailableError"]


class BitmacError(Exception):
    """An error caused by the user's input or environment, not by a bug in bitmac.

    The command line prints ``bitmac: <message>`` on one line and exits with :attr:`exit_code`.
    """

    exit_code = 1


class ToolNotFoundError(BitmacError):
    """An external tool (simulator, synthesiser, programmer) is missing; the message says how
    to install it."""


class NotAvailableError(BitmacError):
    """A subcommand whose machinery is not part of this version yet."""

    exit_code = 2
