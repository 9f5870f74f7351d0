"""`bitmac verilog`."""

from ..errors import NotAvailableError

HELP = "(verilog: not available yet)"


def add_arguments(parser):
    pass


def run(args):
    raise NotAvailableError("'bitmac verilog' is not available in this version yet")
