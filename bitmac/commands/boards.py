"""`bitmac boards`: the supported boards, their parts, resources, design clocks and programmers."""

import json

HELP = "list the supported FPGA boards (part, resources, clock, programmer)"


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print the registry as JSON")


def board_rows():
    """One dict per board of the registry, as `bitmac boards` shows it."""
    from ..boards.registry import BOARDS, DEFAULT_BOARD
    rows = []
    for board in BOARDS.values():
        plan = board.clock
        if plan.method == "ice40-hfosc":
            clock = f"{plan.default_hz / 1e6:g} MHz (internal oscillator)"
        elif plan.default_hz == plan.source_hz:
            clock = f"{plan.default_hz / 1e6:g} MHz (oscillator)"
        else:
            clock = f"{plan.default_hz / 1e6:g} MHz (PLL from {plan.source_hz / 1e6:g} MHz)"
        rows.append({
            "board": board.name, "title": board.title, "default": board.name == DEFAULT_BOARD,
            "part": board.part, "family": board.family, "resources": dict(board.resources),
            "clock": clock, "uart": board.uart_note,
            "programmers": board.programmer_names(),
        })
    return rows


def format_table(rows):
    header = ("board", "part", "LUT", "FF", "BRAM", "DSP", "clock", "programmer")
    table = [header]
    for row in rows:
        resources = row["resources"]
        table.append((row["board"] + (" *" if row["default"] else ""), row["part"],
                      *(str(resources[key]) for key in ("LUT", "FF", "BRAM", "DSP")),
                      row["clock"], " or ".join(row["programmers"])))
    widths = [max(len(line[column]) for line in table) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
             for line in table]
    lines.append("* default board. LUT: iCE40 logic cells, ECP5/Gowin LUT4s. BRAM: iCE40 4 kbit, "
                 "ECP5/Gowin 18 kbit blocks.\nDSP: iCE40 16x16 MACs, ECP5/Gowin 18x18 "
                 "multipliers (the Gowin flow uses neither DSP nor block RAM).")
    return "\n".join(lines)


def run(args):
    rows = board_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(format_table(rows))
    return 0
