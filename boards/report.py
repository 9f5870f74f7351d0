"""Normalised build reports: utilisation and Fmax, read from nextpnr's JSON report.

nextpnr writes ``--report FILE.json`` with ``fmax`` (per clock net: ``achieved`` and
``constraint`` in MHz) and ``utilization`` (per cell type: ``used`` and ``available``). Cell
types differ per family; :func:`normalise_report` maps them to the resources the kit compares:

========  ===================================  ======================  ==================
resource  iCE40                                ECP5                    Gowin (GW1N)
========  ===================================  ======================  ==================
LUT       ``ICESTORM_LC`` (LUT4 + FF + carry)  ``TRELLIS_COMB`` (LUT4)  ``SLICE`` (LUT4)
FF        ``SB_DFF*`` cells of the netlist     ``TRELLIS_FF``          ``DFF*`` cells
BRAM      ``ICESTORM_RAM`` (4 kbit)            ``DP16KD`` (18 kbit)    ``BSRAM`` (18 kbit)
SPRAM     ``ICESTORM_SPRAM`` (256 kbit)        --                      --
DSP       ``ICESTORM_DSP`` (16x16)             ``MULT18X18D``          -- (not placed)
IO        ``SB_IO``                            ``TRELLIS_IO``          ``IOB``
========  ===================================  ======================  ==================

nextpnr-ice40 and nextpnr-gowin have no separate flip-flop count, so FF is counted in the
synthesised netlist JSON Yosys writes: machine-readable, never scraped from a log. A resource
nextpnr does not report (a Gowin design without block RAM) is left out of the report.
"""

import json
from pathlib import Path

__all__ = ["RESOURCES", "CELL_TYPES", "normalise_report", "load_report", "count_netlist_ffs",
           "format_report", "timing_met"]

RESOURCES = ("LUT", "FF", "BRAM", "SPRAM", "DSP", "IO")

CELL_TYPES = {
    "ice40": {"LUT": "ICESTORM_LC", "BRAM": "ICESTORM_RAM", "SPRAM": "ICESTORM_SPRAM",
              "DSP": "ICESTORM_DSP", "IO": "SB_IO"},
    "ecp5": {"LUT": "TRELLIS_COMB", "FF": "TRELLIS_FF", "BRAM": "DP16KD", "DSP": "MULT18X18D",
             "IO": "TRELLIS_IO"},
    "gowin": {"LUT": "SLICE", "BRAM": "BSRAM", "IO": "IOB"},
}

# Cells of the synthesised netlist that are flip-flops, per family (prefix match).
_FF_CELL_PREFIXES = {"ice40": ("SB_DFF",), "ecp5": ("TRELLIS_FF",), "gowin": ("DFF",)}
# Cells that hold the flip-flops in nextpnr's count, per family (their number is the FF limit
# unless the part's own total is given).
_FF_SITES = {"ice40": "ICESTORM_LC", "gowin": "SLICE"}


def count_netlist_ffs(netlist, family):
    """Number of flip-flop cells in a Yosys JSON netlist (path or parsed dict)."""
    if not isinstance(netlist, dict):
        netlist = json.loads(Path(netlist).read_text())
    prefixes = _FF_CELL_PREFIXES[family]
    return sum(1 for module in netlist.get("modules", {}).values()
               for cell in module.get("cells", {}).values()
               if cell.get("type", "").startswith(prefixes))


def normalise_report(nextpnr_report, family, *, netlist=None, part_resources=None, meta=None):
    """Normalised report from nextpnr's parsed ``--report`` JSON.

    Parameters
    ----------
    nextpnr_report : dict
        Parsed ``--report`` file.
    family : str
        ``"ice40"`` or ``"ecp5"``.
    netlist : dict or path, optional
        Yosys JSON netlist, to count flip-flops where nextpnr does not.
    part_resources : dict, optional
        The part's totals (``{"FF": ...}``), for the flip-flop limit of families where not
        every logic site has a flip-flop (Gowin GW1N: 8640 LUT4s, 6480 FFs).
    meta : dict, optional
        Copied into the report (board, part, design, toolchain...).

    Returns
    -------
    dict
        ``{"resources": {name: {"used", "available", "percent", "cell"}},
        "clocks": [{"name", "fmax_mhz", "target_mhz", "met"}], "timing_met": bool,
        "nextpnr_utilization": {...}}`` plus ``meta``.
    """
    if family not in CELL_TYPES:
        raise ValueError(f"unknown FPGA family {family!r}; known: {', '.join(CELL_TYPES)}")
    if "utilization" not in nextpnr_report or "fmax" not in nextpnr_report:
        raise ValueError("not a nextpnr --report JSON (no 'utilization'/'fmax' keys)")
    utilization = nextpnr_report["utilization"]
    resources = {}
    for resource in RESOURCES:
        cell = CELL_TYPES[family].get(resource)
        if cell is not None and cell in utilization:
            used, available = utilization[cell]["used"], utilization[cell]["available"]
        elif resource == "FF" and netlist is not None and _FF_SITES.get(family) in utilization:
            cell = f"{'/'.join(_FF_CELL_PREFIXES[family])}* in netlist"
            used = count_netlist_ffs(netlist, family)
            available = (part_resources or {}).get(
                "FF", utilization[_FF_SITES[family]]["available"])
        else:
            continue
        resources[resource] = {
            "used": int(used), "available": int(available), "cell": cell,
            "percent": round(100.0 * used / available, 1) if available else 0.0,
        }
    clocks = []
    for name, clock in sorted(nextpnr_report["fmax"].items()):
        # The constraint is the frequency the build asked for on that clock net.
        target = float(clock["constraint"])
        achieved = float(clock["achieved"])
        clocks.append({"name": name, "fmax_mhz": round(achieved, 2),
                       "target_mhz": round(target, 3), "met": achieved >= target})
    report = dict(meta or {})
    report.update({
        "family": family,
        "resources": resources,
        "clocks": clocks,
        # A report without any analysed clock proves nothing about timing.
        "timing_met": bool(clocks) and all(clock["met"] for clock in clocks),
        "nextpnr_utilization": utilization,
    })
    return report


def load_report(path, family, **kwargs):
    """:func:`normalise_report` of a ``--report`` file."""
    return normalise_report(json.loads(Path(path).read_text()), family, **kwargs)


def timing_met(report):
    return report["timing_met"]


def format_report(report):
    """The report as a plain-text table (resources, then clocks)."""
    lines = []
    title = " ".join(str(report[key]) for key in ("design", "board", "part") if key in report)
    if title:
        lines.append(title)
    lines.append(f"{'resource':<9}{'used':>8}{'available':>11}{'use':>8}  cell")
    for name, resource in report["resources"].items():
        lines.append(f"{name:<9}{resource['used']:>8}{resource['available']:>11}"
                     f"{resource['percent']:>7.1f}%  {resource['cell']}")
    lines.append(f"{'clock':<24}{'Fmax MHz':>10}{'target MHz':>12}  timing")
    for clock in report["clocks"]:
        lines.append(f"{clock['name']:<24}{clock['fmax_mhz']:>10.2f}{clock['target_mhz']:>12.2f}"
                     f"  {'met' if clock['met'] else 'FAILED'}")
    return "\n".join(lines)
