"""Host driver of the UART host link (protocol: :mod:`bitmac.hdl.hostlink`, README "Host link
protocol").

:class:`HostLink` talks to a board running :class:`bitmac.boards.top.BoardTop` through a
serial port (pyserial) or any object with the same ``read``/``write`` methods, such as
:class:`bitmac.boards.serial_sim.SimulatedSerial`. Data use the golden conventions: binary
matrices hold ±1 (bit 1 = +1), int8 matrices int8, ``W`` has shape ``(n_out, n_in)`` and
``run(X)`` returns ``X @ W.T`` (shape ``(M, n_out)``) as the unit computes it.

Example
-------
::

    with HostLink("/dev/ttyUSB1") as link:
        print(link.ident())
        link.load_weights(W)
        Y = link.run(X)
        print(link.cycles())
"""

import struct

import numpy as np

from ..errors import BitmacError
from ..hdl.hostlink import (DESIGN_KINDS, IDENT_FORMAT, MAGIC, MAX_LENGTH, MODES,
                            PROTOCOL_VERSION, SYNC_REPLY, SYNC_REQUEST, Command, Status)

__all__ = ["HostLink", "LinkError", "Reply", "crc16_ccitt", "encode_frame", "stream_fields",
           "pack_beats", "unpack_beats"]

DEFAULT_TIMEOUT = 2.0


class LinkError(BitmacError):
    """The board did not answer, answered garbage, or rejected a frame."""


def crc16_ccitt(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, MSB first, no final XOR) of ``data``."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def encode_frame(command, payload=b""):
    """A request frame: sync, command, length (LE), payload, CRC (high byte first)."""
    payload = bytes(payload)
    if len(payload) > MAX_LENGTH:
        raise ValueError(f"a frame carries at most {MAX_LENGTH} bytes, not {len(payload)}")
    body = bytes([int(command)]) + struct.pack("<H", len(payload)) + payload
    return bytes([SYNC_REQUEST]) + body + struct.pack(">H", crc16_ccitt(body))


class Reply:
    """A decoded reply frame: ``command``, ``status`` (:class:`Status` or int) and ``payload``."""

    def __init__(self, command, status, payload):
        self.command, self.payload = command, payload
        try:
            self.status = Status(status)
        except ValueError:
            self.status = status

    @property
    def ok(self):
        return self.status == Status.OK

    def __repr__(self):
        return f"Reply(command={self.command}, status={self.status!r}, {len(self.payload)} bytes)"


# -- beats: payload bits <-> bytes -------------------------------------------------------------

def stream_fields(info, stream):
    """The fields of one beat of ``stream`` ("i", "w", "p", "o") of the board described by
    ``info`` (:meth:`HostLink.ident`): a list of ``(name, width, signed)`` from bit 0 up.
    Lanes of an array are named by their index."""
    kind, mode, simd, pe, acc = (info[key] for key in ("kind", "mode", "simd", "pe",
                                                       "acc_width"))
    if stream in ("i", "w"):
        return [(j, 1, False) for j in range(simd)] if kind == "binary" else \
            [(j, 8, True) for j in range(simd)]
    if stream == "o":
        if kind == "binary":
            return [(p, 1, False) for p in range(pe)] if mode == "threshold" else \
                [(p, acc, True) for p in range(pe)]
        return [(p, 8, True) for p in range(pe)] if mode == "requant" else \
            [(p, acc, True) for p in range(pe)]
    if stream == "p":
        if kind == "binary":
            return [("threshold", acc, True), ("invert", 1, False)]
        return [("bias", 32, True), ("multiplier", 32, True), ("shift", 5, False),
                ("zero_point", 8, True), ("out_min", 8, True)]
    raise ValueError(f"stream must be one of i, w, p, o, not {stream!r}")


def pack_beats(columns, fields, beat_bytes):
    """Bytes of ``len(columns[0])`` beats: beat ``b`` is ``sum(columns[i][b] << offset_i)``
    with each value wrapped to its field width (two's complement for signed fields), in
    ``beat_bytes`` little-endian bytes."""
    out = bytearray()
    count = len(columns[0])
    for beat in range(count):
        word, offset = 0, 0
        for column, (_, width, _) in zip(columns, fields):
            word |= (int(column[beat]) & ((1 << width) - 1)) << offset
            offset += width
        out += word.to_bytes(beat_bytes, "little")
    return bytes(out)


def unpack_beats(data, fields, beat_bytes):
    """The inverse of :func:`pack_beats`: an int64 array of shape ``(beats, len(fields))``."""
    if len(data) % beat_bytes:
        raise LinkError(f"reply of {len(data)} bytes is not whole {beat_bytes}-byte beats")
    beats = len(data) // beat_bytes
    out = np.empty((beats, len(fields)), dtype=np.int64)
    for beat in range(beats):
        word = int.from_bytes(data[beat * beat_bytes:(beat + 1) * beat_bytes], "little")
        offset = 0
        for index, (_, width, signed) in enumerate(fields):
            value = (word >> offset) & ((1 << width) - 1)
            if signed and value >> (width - 1):
                value -= 1 << width
            out[beat, index] = value
            offset += width
    return out


def _integer_matrix(name, value, shape, lo, hi):
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, not {array.dtype}")
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, not {array.shape}")
    if array.size and (array.min() < lo or array.max() > hi):
        raise ValueError(f"{name} values must be in [{lo}, {hi}]")
    return array.astype(np.int64)


class HostLink:
    """Driver of one board's host link.

    Parameters
    ----------
    port : str or serial-like object
        A serial device name (``/dev/ttyUSB1``, ``COM3``), opened with pyserial at ``baud``
        8N1, or an object with ``write(bytes)``, ``read(n)`` and ``reset_input_buffer()``
        (e.g. :class:`~bitmac.boards.serial_sim.SimulatedSerial`).
    baud : int
        Line rate when ``port`` is a name.
    timeout : float
        Seconds to wait for a reply byte when ``port`` is a name.

    Raises
    ------
    LinkError
        When the port cannot be opened.
    """

    def __init__(self, port, *, baud=115200, timeout=DEFAULT_TIMEOUT):
        if isinstance(port, str):
            import serial
            try:
                self.port = serial.Serial(port, baudrate=baud, timeout=timeout)
            except (serial.SerialException, OSError) as error:
                reason = str(error)
                prefix = f"could not open port {port}: "
                reason = reason[len(prefix):] if reason.startswith(prefix) else reason
                raise LinkError(f"cannot open serial port {port}: {reason}") from None
            self.name = port
        else:
            self.port = port
            self.name = getattr(port, "name", repr(port))
        self._info = None

    def close(self):
        self.port.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- frames ---------------------------------------------------------------------------------

    def _read_exactly(self, count, what):
        # pyserial's timeout bounds one read() call; a long reply takes several calls, and only
        # a call that brings nothing at all means the board went silent.
        data = b""
        while len(data) < count:
            chunk = self.port.read(count - len(data))
            if not chunk:
                break
            data += chunk
        if len(data) < count:
            raise LinkError(f"no answer from the board on {self.name} (timed out waiting for "
                            f"{what}; is it flashed with a bitmac design and at this baud rate?)")
        return data

    def exchange(self, frame):
        """Send raw request bytes and return the :class:`Reply` (whatever its status).

        Raises :class:`LinkError` on no answer or a reply that is not a valid frame."""
        self.port.reset_input_buffer()
        self.port.write(frame)
        # Skip anything before the reply's sync byte (line noise, a reset message).
        for _ in range(64):
            sync = self._read_exactly(1, "a reply")
            if sync[0] == SYNC_REPLY:
                break
        else:
            raise LinkError(f"no reply frame from the board on {self.name} (64 bytes without "
                            f"a sync byte)")
        header = self._read_exactly(4, "the reply header")
        command, status, length = header[0], header[1], struct.unpack("<H", header[2:])[0]
        payload = self._read_exactly(length, "the reply payload") if length else b""
        crc = struct.unpack(">H", self._read_exactly(2, "the reply CRC"))[0]
        if crc16_ccitt(header + payload) != crc:
            raise LinkError(f"corrupted reply from the board on {self.name} (CRC mismatch)")
        return Reply(command, status, payload)

    def command(self, command, payload=b""):
        """Send one command and return its reply payload; :class:`LinkError` when the board
        rejects it (the message names the board's reason)."""
        reply = self.exchange(encode_frame(command, payload))
        name = Command(command).name
        if not reply.ok:
            reason = reply.status.name if isinstance(reply.status, Status) else reply.status
            raise LinkError(f"the board rejected {name}: {reason}")
        if reply.command != command:
            raise LinkError(f"the board answered command {reply.command} to {name}")
        return reply.payload

    # -- commands -------------------------------------------------------------------------------

    def ident(self):
        """The board's identification: a dict with kind ("binary"/"int8"), mode, acc_width,
        n_in, n_out, pe, simd, clk_freq, max_load_beats, max_vectors, beat_bytes (i, w, p, o),
        sf and nf. Cached after the first call."""
        if self._info is None:
            payload = self.command(Command.IDENT)
            if len(payload) != struct.calcsize(IDENT_FORMAT) or payload[:4] != MAGIC:
                raise LinkError(f"the device on {self.name} is not a bitmac host link "
                                f"(identification {payload[:8].hex()})")
            fields = struct.unpack(IDENT_FORMAT, payload)
            (_, version, kind, mode, acc, n_in, n_out, pe, simd, clk, max_beats, max_vectors,
             i_bytes, w_bytes, p_bytes, o_bytes) = fields
            if version != PROTOCOL_VERSION:
                raise LinkError(f"the board speaks host-link protocol {version}, this bitmac "
                                f"speaks {PROTOCOL_VERSION}: rebuild the bitstream")
            if kind >= len(DESIGN_KINDS) or mode >= len(MODES):
                raise LinkError(f"the board reports an unknown design kind {kind} / mode {mode}")
            info = {"kind": DESIGN_KINDS[kind], "mode": MODES[mode], "acc_width": acc,
                    "n_in": n_in, "n_out": n_out, "pe": pe, "simd": simd, "clk_freq": clk,
                    "max_load_beats": max_beats, "max_vectors": max_vectors,
                    "beat_bytes": {"i": i_bytes, "w": w_bytes, "p": p_bytes, "o": o_bytes},
                    "sf": -(-n_in // simd), "nf": n_out // pe}
            for stream, size in info["beat_bytes"].items():
                if stream == "p" and size == 0:
                    continue
                width = sum(width for _, width, _ in stream_fields(info, stream))
                if (width + 7) // 8 != size:
                    raise LinkError(f"the board's {stream}-stream beats are {size} bytes, "
                                    f"this driver expects {(width + 7) // 8}: versions differ")
            self._info = info
        return dict(self._info)

    def _load(self, command, stream, columns, progress):
        info = self.ident()
        fields = stream_fields(info, stream)
        size = info["beat_bytes"][stream]
        beats = len(columns[0])
        step = info["max_load_beats"]
        for start in range(0, beats, step):
            chunk = [column[start:start + step] for column in columns]
            self.command(command, pack_beats(chunk, fields, size))
            if progress is not None:
                progress.advance(len(chunk[0]))

    def _lanes(self, matrix, kind):
        # Rows of n_in elements -> SF beats of simd lanes each, padding lanes 0.
        info = self.ident()
        rows = matrix.shape[0]
        padded = np.zeros((rows, info["sf"] * info["simd"]), dtype=np.int64)
        padded[:, :info["n_in"]] = (matrix == 1) if kind == "binary" else matrix
        lanes = padded.reshape(rows * info["sf"], info["simd"])
        return [lanes[:, j] for j in range(info["simd"])]

    def _operand(self, name, value, rows):
        info = self.ident()
        shape = (rows, info["n_in"])
        if info["kind"] == "binary":
            array = _integer_matrix(name, value, shape, -1, 1)
            if np.any(array == 0):
                raise ValueError(f"{name} must hold only -1 and +1 (binary design)")
            return array
        return _integer_matrix(name, value, shape, -128, 127)

    def load_weights(self, W, *, progress=None):
        """Load the weight matrix ``W`` (shape ``(n_out, n_in)``; ±1 for a binary design, int8
        for an int8 one), split into as many frames as the board's buffer needs
        (``n_out * SF`` beats; ``progress.advance(beats)`` is called after each frame)."""
        info = self.ident()
        W = self._operand("W", W, info["n_out"])
        self._load(Command.LOAD_WEIGHTS, "w", self._lanes(W, info["kind"]), progress)

    def load_params(self, *, progress=None, **params):
        """Load the per-neuron parameters: ``thresholds`` and ``invert`` (binary, threshold
        mode) or ``bias``, ``multiplier``, ``shift``, ``zero_point``, ``out_min`` (int8,
        requant mode). Each is a scalar or an array of ``n_out`` values (``n_out`` beats;
        ``progress`` as for :meth:`load_weights`)."""
        info = self.ident()
        if info["beat_bytes"]["p"] == 0:
            raise LinkError(f"the {info['kind']} design in {info['mode']} mode has no "
                            f"parameters to load")
        fields = stream_fields(info, "p")
        names = {"threshold": "thresholds"}
        defaults = {"invert": 0, "zero_point": 0, "out_min": -128}
        columns = []
        for name, width, signed in fields:
            key = names.get(name, name)
            if key not in params and name not in defaults:
                raise ValueError(f"load_params needs {key}")
            value = np.asarray(params.pop(key, defaults.get(name)))
            lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else \
                (0, (1 << width) - 1)
            value = np.broadcast_to(value, (info["n_out"],)) if value.ndim == 0 else value
            columns.append(_integer_matrix(key, value, (info["n_out"],), lo, hi))
        if params:
            raise ValueError(f"unknown parameter(s) for the {info['kind']} design: "
                             f"{', '.join(sorted(params))}")
        self._load(Command.LOAD_PARAMS, "p", columns, progress)

    def run(self, X):
        """Run the vectors ``X`` (shape ``(M, n_in)``) and return the results, shape
        ``(M, n_out)``: accumulators (acc mode), bits 0/1 (threshold) or int8 (requant).
        Split into RUN frames of at most ``max_vectors`` vectors."""
        info = self.ident()
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (M, {info['n_in']}), not {X.shape}")
        X = self._operand("X", X, X.shape[0])
        in_fields = stream_fields(info, "i")
        out_fields = stream_fields(info, "o")
        results = []
        for start in range(0, X.shape[0], info["max_vectors"]):
            block = X[start:start + info["max_vectors"]]
            payload = pack_beats(self._lanes(block, info["kind"]), in_fields,
                                 info["beat_bytes"]["i"])
            reply = self.command(Command.RUN, payload)
            beats = unpack_beats(reply, out_fields, info["beat_bytes"]["o"])
            if beats.shape[0] != block.shape[0] * info["nf"]:
                raise LinkError(f"the board returned {beats.shape[0]} result beats for "
                                f"{block.shape[0]} vectors (expected "
                                f"{block.shape[0] * info['nf']})")
            results.append(beats.reshape(block.shape[0], info["n_out"]))
        if not results:
            return np.zeros((0, info["n_out"]), dtype=np.int64)
        return np.concatenate(results)

    def cycles(self):
        """Clock cycles of the last RUN frame on the board (first input beat to last result)."""
        return struct.unpack("<I", self.command(Command.CYCLES))[0]
