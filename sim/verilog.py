"""Verilog export of any bitmac unit, with a port map beside it.

:func:`write_verilog` converts a ``wiring.Component`` with Amaranth's builtin Yosys
(``amaranth.back.verilog.convert``) and writes ``FILE.v`` plus ``FILE.ports.json``: one entry per
Verilog port (``port``, ``direction``, ``width``, ``meaning``; for stream payloads also the
bit fields of the payload layout: ``fields`` with name, offset, width, signed) and the unit's
``timing`` (latency, cycles per vector, accumulator width, as far as the unit reports them),
so the module can be dropped into another project without reading the Python source.

Port names follow Amaranth: the member path joined by ``__`` (``i_stream__payload``,
``i_stream__valid``, ``i_stream__ready``), plus ``clk`` (rising edge) and ``rst`` (synchronous,
active high).

:data:`DESIGNS` names the units the command line and the benches build (``popcount``,
``binary``, ``int8-mac``, ``int8``); :func:`make_design` builds one from keyword sizes.
"""

import dataclasses
import json
from pathlib import Path

from amaranth.back import verilog as amaranth_verilog
from amaranth.hdl import Shape
from amaranth.lib import data, wiring

__all__ = ["DESIGNS", "DesignSpec", "make_design", "port_map", "verilog_text", "write_verilog",
           "ports_path_for", "unit_timing"]


# What each stream of the bitmac units carries; other components get a generic description.
_STREAM_MEANINGS = {
    "i_stream": "input vectors (activations), one SIMD chunk per beat",
    "w_stream": "weights, neuron-major: neuron n, then chunk s",
    "t_stream": "per-neuron thresholds (binary threshold mode)",
    "q_stream": "per-neuron requantization parameters (int8 requant mode)",
    "o_stream": "results, PE neurons per beat",
}


def _layout_fields(layout, prefix="", offset=0):
    """Flatten a payload layout into bit fields: nested structs and arrays become dotted and
    indexed names, each with its absolute bit offset."""
    if isinstance(layout, data.StructLayout) or isinstance(layout, data.ArrayLayout):
        fields = []
        for key, field in layout:
            name = f"{prefix}[{key}]" if isinstance(key, int) else (
                f"{prefix}.{key}" if prefix else str(key))
            fields += _layout_fields(field.shape, name, offset + field.offset)
        return fields
    if isinstance(layout, data.Layout):
        # Flexible/union layouts: describe the whole payload as one raw field.
        shape = Shape.cast(layout)
        return [{"name": prefix or "payload", "offset": offset, "width": shape.width,
                 "signed": False}]
    shape = Shape.cast(layout)
    return [{"name": prefix or "payload", "offset": offset, "width": shape.width,
             "signed": shape.signed}]


def _documented_members(component):
    """Descriptions of a component's members from its NumPy-style class docstring
    (``name : In(...)`` or ``a, b : Out(...)`` followed by indented text)."""
    import inspect
    import re
    doc = inspect.getdoc(type(component)) or ""
    described = {}
    lines = doc.splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"^([A-Za-z_][\w, ]*) : (In|Out)\(", line)
        if not match:
            continue
        text = []
        for follow in lines[index + 1:]:
            if not follow.startswith((" ", "\t")) or not follow.strip():
                break
            text.append(follow.strip())
        for name in match.group(1).split(","):
            described[name.strip()] = " ".join(text).replace("``", "")
    return described


def _describe_fields(fields):
    return ", ".join(
        f"{field['name']} [{field['offset'] + field['width'] - 1}:{field['offset']}]"
        f" {'signed' if field['signed'] else 'unsigned'}" for field in fields)


def _module_ports(verilog):
    import re
    header = re.search(r"module\s+\S+\s*\(([^)]*)\)", verilog)
    return {name.strip() for name in header.group(1).split(",")} if header else None


def port_map(component, verilog=None):
    """List the Verilog ports of ``component`` as dicts.

    Each entry has ``port`` (Verilog name), ``direction`` (``input``/``output``), ``width``
    (bits) and ``meaning``; payload ports also have ``fields`` (name, offset, width, signed of
    each payload field, offsets counted from bit 0). With the ``verilog`` text, ``clk`` and
    ``rst`` are listed only when the module has them (a purely combinational unit has none).
    """
    if not isinstance(component, wiring.Component):
        raise TypeError(f"port_map needs a wiring.Component, not {type(component).__name__}")
    ports = [
        {"port": "clk", "direction": "input", "width": 1,
         "meaning": "clock; every register updates on its rising edge"},
        {"port": "rst", "direction": "input", "width": 1,
         "meaning": "synchronous reset, active high"},
    ]
    present = _module_ports(verilog) if verilog else None
    if present is not None:
        ports = [port for port in ports if port["port"] in present]
    documented = _documented_members(component)
    for path, member in component.signature.members.flatten():
        if not member.is_port:
            continue
        name = "__".join(str(part) for part in path)
        direction = "input" if member.flow == wiring.In else "output"
        shape = member.shape
        width = Shape.cast(shape).width
        stream_name = str(path[0])
        what = _STREAM_MEANINGS.get(stream_name, stream_name.replace("_", " "))
        entry = {"port": name, "direction": direction, "width": width,
                 "signed": Shape.cast(shape).signed}
        role = str(path[-1]) if len(path) > 1 else None
        if role == "valid":
            entry["meaning"] = f"{stream_name}: source has a beat ({what})"
        elif role == "ready":
            entry["meaning"] = (f"{stream_name}: sink takes the beat; a transfer happens on a "
                                f"rising clk edge with valid and ready both high")
        elif role == "payload":
            fields = _layout_fields(shape)
            entry["meaning"] = f"{stream_name} payload: {what}; fields {_describe_fields(fields)}"
            entry["fields"] = fields
        else:
            cast = Shape.cast(shape)
            kind = f"{'signed' if cast.signed else 'unsigned'}({cast.width})"
            text = documented.get(name) or documented.get(str(path[0])) or name.replace("_", " ")
            entry["meaning"] = f"{text} [{kind}]"
            if isinstance(shape, data.Layout):
                entry["fields"] = _layout_fields(shape)
        ports.append(entry)
    return ports


def verilog_text(component, name):
    """Verilog source of ``component`` as a module called ``name`` (without source locations,
    so the text does not depend on where bitmac is installed)."""
    return amaranth_verilog.convert(component, name=name, emit_src=False)


#: Attributes of the units that a user of the Verilog needs (cycles, widths), when present.
_TIMING_ATTRIBUTES = ("latency", "cycles_per_vector", "macs_per_cycle", "neuron_folds",
                      "synapse_folds", "acc_width")


def unit_timing(component):
    """Latency, throughput and widths the component reports about itself (integers only)."""
    timing = {}
    for attribute in _TIMING_ATTRIBUTES:
        try:
            value = getattr(component, attribute)
        except (AttributeError, TypeError, ValueError):
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            timing[attribute] = value
    return timing


def ports_path_for(verilog_path):
    """``FILE.v`` -> ``FILE.ports.json``."""
    verilog_path = Path(verilog_path)
    return verilog_path.with_name(verilog_path.stem + ".ports.json")


def write_verilog(component, path, *, name=None, description=None):
    """Write ``component`` as Verilog to ``path`` and its port map to ``FILE.ports.json``.

    Parameters
    ----------
    component : wiring.Component
    path : path-like
        The ``.v`` file to write (folders are created).
    name : str, optional
        Verilog module name; default: the file stem.
    description : dict, optional
        Extra keys stored in the JSON (e.g. design name and sizes).

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The Verilog file and the port map file.
    """
    path = Path(path)
    name = name or path.stem
    if not name.isidentifier():
        raise ValueError(f"Verilog module name must be an identifier, not {name!r}")
    text = verilog_text(component, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    ports_path = ports_path_for(path)
    document = {"module": name, "verilog": path.name, **(description or {}),
                "timing": unit_timing(component), "ports": port_map(component, text)}
    ports_path.write_text(json.dumps(document, indent=2) + "\n")
    return path, ports_path


@dataclasses.dataclass(frozen=True)
class DesignSpec:
    """A unit the command line can build: where its class lives and which sizes it takes."""
    module: str
    cls: str
    params: tuple
    summary: str

    def build(self, **sizes):
        import importlib
        try:
            module = importlib.import_module(self.module)
        except ImportError as error:
            raise ValueError(f"{self.module} is not available: {error}") from None
        unit = getattr(module, self.cls)
        kwargs = {key: value for key, value in sizes.items()
                  if key in self.params and value is not None}
        return unit(**kwargs)


DESIGNS = {
    "popcount": DesignSpec("bitmac.hdl.popcount", "Popcount", ("width",),
                           "pipelined popcount of a width-bit word"),
    "binary": DesignSpec("bitmac.hdl.binary_mvu", "BinaryMVU",
                         ("n_in", "n_out", "pe", "simd", "mode"),
                         "XNOR-popcount matrix-vector unit (PE x SIMD binary MACs per cycle)"),
    "int8-mac": DesignSpec("bitmac.hdl.int8_mac", "Int8Mac",
                           ("acc_width", "simd", "depth", "packed", "dsp_implementation"),
                           "int8 x int8 multiply-accumulate with int32 accumulator"),
    "int8": DesignSpec("bitmac.hdl.int8_mvu", "Int8MVU",
                       ("n_in", "n_out", "pe", "simd", "mode", "packed", "dsp_implementation"),
                       "int8 matrix-vector unit (PE x SIMD int8 MACs per cycle)"),
}


def make_design(design, **sizes):
    """Build the unit called ``design`` (a key of :data:`DESIGNS`) with the given sizes; sizes
    that are ``None`` or that the unit does not take are left to the unit's defaults."""
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; choose one of {', '.join(DESIGNS)}")
    return DESIGNS[design].build(**sizes)
