"""`bitmac flash`."""

from ..errors import NotAvailableError

HELP = "(flash: not available yet)"


def add_arguments(parser):
    pass


def run(args):
    raise NotAvailableError("'bitmac flash' is not available in this version yet")
