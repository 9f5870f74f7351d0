"""`bitmac boards`."""

from ..errors import NotAvailableError

HELP = "(boards: not available yet)"


def add_arguments(parser):
    pass


def run(args):
    raise NotAvailableError("'bitmac boards' is not available in this version yet")
