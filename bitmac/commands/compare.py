"""`bitmac compare`."""

from ..errors import NotAvailableError

HELP = "(compare: not available yet)"


def add_arguments(parser):
    pass


def run(args):
    raise NotAvailableError("'bitmac compare' is not available in this version yet")
