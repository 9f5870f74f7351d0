"""`bitmac build`."""

from ..errors import NotAvailableError

HELP = "(build: not available yet)"


def add_arguments(parser):
    pass


def run(args):
    raise NotAvailableError("'bitmac build' is not available in this version yet")
