"""`bitmac run`."""

from ..errors import NotAvailableError

HELP = "(run: not available yet)"


def add_arguments(parser):
    pass


def run(args):
    raise NotAvailableError("'bitmac run' is not available in this version yet")
