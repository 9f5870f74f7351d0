"""`bitmac sim`."""

from ..errors import NotAvailableError

HELP = "(sim: not available yet)"


def add_arguments(parser):
    pass


def run(args):
    raise NotAvailableError("'bitmac sim' is not available in this version yet")
