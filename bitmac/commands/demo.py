"""`bitmac demo`: the main job on the default board (placeholder until the golden models land)."""

from ..errors import NotAvailableError

HELP = "run the main job on the default board"


def add_arguments(parser):
    pass


def run(args):
    raise NotAvailableError("'bitmac demo' is not available in this version yet")
