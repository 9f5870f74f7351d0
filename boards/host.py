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

import dataclasses
import struct

import numpy as np

from ..errors import BitmacError
from ..hdl.hostlink import (DESIGN_KINDS, IDENT_FORMAT, IDENT_TARGETS_FORMAT, MAGIC,
                            MAX_LENGTH, MODES,
                            PROTOCOL_VERSION, SYNC_REPLY, SYNC_REQUEST, Command, Status)

__all__ = ["HostLink", "LinkError", "Reply", "crc16_ccitt", "encode_frame", "stream_fields",
           "pack_beats", "unpack_beats", "NetworkStreams", "network_streams"]

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


# -- a whole network behind the link ----------------------------------------------------------

def _payload_shape(unit, port):
    return unit.signature.members[port].signature.members["payload"].shape


def _encode_beats(shape, beats):
    """Bytes of decoded beats (ints, lists of lanes, dicts of fields) of a port's payload
    ``shape``, each beat its bits in little-endian bytes."""
    from amaranth.hdl import Const, Shape
    width = Shape.cast(shape).width
    size = (width + 7) // 8
    out = bytearray()
    for beat in beats:
        word = int(beat) if isinstance(beat, (int, np.integer)) else \
            Const.cast(shape.const(beat)).value
        out += (word & ((1 << width) - 1)).to_bytes(size, "little")
    return bytes(out)


def _decode_lanes(shape, data):
    """Result bytes of an output payload ``shape`` -> int64 array ``(beats, lanes)``: the
    lanes of an array layout (signed as declared) or the bits of a plain bit vector."""
    from amaranth.hdl import Shape
    from amaranth.lib import data as data_lib
    if isinstance(shape, data_lib.ArrayLayout):
        element = Shape.cast(shape.elem_shape)
        fields = [(j, element.width, element.signed) for j in range(shape.length)]
    else:
        fields = [(j, 1, False) for j in range(Shape.cast(shape).width)]
    return unpack_beats(data, fields, (Shape.cast(shape).width + 7) // 8)


@dataclasses.dataclass
class NetworkStreams:
    """A trained network as host-link traffic for its :class:`NetworkPipeline`.

    Attributes
    ----------
    loads : list of (Command, int, bytes)
        ``LOAD_WEIGHTS`` / ``LOAD_PARAMS`` with target index and beats, layer by layer.
    inputs : bytes
        The images as the first layer's input beats (``SF`` beats per image).
    expected : bytes
        The last layer's output beats as the golden integer inference computes them.
    logits : numpy.ndarray
        The golden last-layer outputs, shape ``(images, classes)``.
    load_beats : int
        Beats in all loads.
    """
    loads: list
    inputs: bytes
    expected: bytes
    logits: np.ndarray
    load_beats: int


def network_streams(kind, trained, units, pixels):
    """Encode the trained digits network ``kind`` ("binary"/"int8", a
    :class:`bitmac.golden.network.TrainedNetworks`) for ``units`` (one per layer, as the
    board's pipeline holds them) and the images ``pixels`` (shape ``(images, 64)``, 0..16):
    see :class:`NetworkStreams`. Weight stream ``l`` and parameter stream ``l`` of the
    pipeline are load targets ``l`` (only the layers with parameters count as parameter
    targets, in order)."""
    from ..golden import network as golden_network
    from ..sim import network_rtl
    if kind == "binary":
        layers, values = trained.binary_integer.layers, trained.binary_integer.encode(pixels)
    else:
        layers = trained.int8_net.layers
        values = golden_network.Int8MLP.quantize_input(pixels)
    if len(layers) != len(units):
        raise ValueError(f"the {kind} network has {len(layers)} layers, not {len(units)}")
    loads, load_beats, param_target = [], 0, 0
    inputs = expected = b""
    for index, (unit, layer) in enumerate(zip(units, layers)):
        streams, outputs = network_rtl.layer_streams(kind, layer, index, unit.pe, unit.simd,
                                                     values)
        loads.append((Command.LOAD_WEIGHTS, index,
                      _encode_beats(_payload_shape(unit, "w_stream"), streams["weight_beats"])))
        load_beats += len(streams["weight_beats"])
        if streams["param_port"] is not None:
            loads.append((Command.LOAD_PARAMS, param_target, _encode_beats(
                _payload_shape(unit, streams["param_port"]), streams["param_beats"])))
            load_beats += len(streams["param_beats"])
            param_target += 1
        if index == 0:
            beats = [beat for vector in streams["vector_beats"] for beat in vector]
            inputs = _encode_beats(_payload_shape(unit, "i_stream"), beats)
        if index == len(units) - 1:
            beats = [beat for vector in streams["expected"] for beat in vector]
            expected = _encode_beats(_payload_shape(unit, "o_stream"), beats)
        values = outputs
    return NetworkStreams(loads, inputs, expected, np.asarray(values), load_beats)


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
        self._network = None

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
            head = struct.calcsize(IDENT_FORMAT)
            if len(payload) < head or payload[:4] != MAGIC:
                raise LinkError(f"the device on {self.name} is not a bitmac host link "
                                f"(identification {payload[:8].hex()})")
            fields = struct.unpack(IDENT_FORMAT, payload[:head])
            (_, version, kind, mode, acc, n_in, n_out, pe, simd, clk, max_beats, max_vectors,
             i_bytes, w_bytes, p_bytes, o_bytes) = fields
            if version != PROTOCOL_VERSION:
                raise LinkError(f"the board speaks host-link protocol {version}, this bitmac "
                                f"speaks {PROTOCOL_VERSION}: rebuild the bitstream")
            if kind >= len(DESIGN_KINDS) or mode >= len(MODES):
                raise LinkError(f"the board reports an unknown design kind {kind} / mode {mode}")
            counts_end = head + struct.calcsize(IDENT_TARGETS_FORMAT)
            if len(payload) < counts_end:
                raise LinkError(f"the board's identification is truncated ({len(payload)} bytes)")
            weight_targets, param_targets = struct.unpack(IDENT_TARGETS_FORMAT,
                                                          payload[head:counts_end])
            if len(payload) != counts_end + weight_targets + param_targets:
                raise LinkError(f"the board's identification is {len(payload)} bytes, its "
                                f"target list needs {counts_end + weight_targets + param_targets}")
            target_bytes = list(payload[counts_end:])
            info = {"kind": DESIGN_KINDS[kind], "mode": MODES[mode], "acc_width": acc,
                    "n_in": n_in, "n_out": n_out, "pe": pe, "simd": simd, "clk_freq": clk,
                    "max_load_beats": max_beats, "max_vectors": max_vectors,
                    "beat_bytes": {"i": i_bytes, "w": w_bytes, "p": p_bytes, "o": o_bytes},
                    "sf": -(-n_in // simd), "nf": n_out // pe,
                    "weight_bytes": target_bytes[:weight_targets],
                    "param_bytes": target_bytes[weight_targets:]}
            # A network pipeline's layer streams are checked by whoever loads them.
            single = weight_targets == 1 and param_targets <= 1
            for stream, size in info["beat_bytes"].items() if single else ():
                if stream == "p" and size == 0:
                    continue
                width = sum(width for _, width, _ in stream_fields(info, stream))
                if (width + 7) // 8 != size:
                    raise LinkError(f"the board's {stream}-stream beats are {size} bytes, "
                                    f"this driver expects {(width + 7) // 8}: versions differ")
            self._info = info
        return dict(self._info)

    def load_beats(self, command, target, data, *, progress=None):
        """Send ``data`` (whole beats of load target ``target``, as bytes) with ``command``
        (``Command.LOAD_WEIGHTS`` or ``Command.LOAD_PARAMS``), split into frames of at most
        the board's ``max_load_beats`` beats (``progress.advance(beats)`` after each)."""
        info = self.ident()
        key = {Command.LOAD_WEIGHTS: "weight_bytes", Command.LOAD_PARAMS: "param_bytes"}[command]
        if not 0 <= target < len(info[key]):
            raise ValueError(f"the board has {len(info[key])} {Command(command).name} "
                             f"target(s), not target {target}")
        size = info[key][target]
        if len(data) % size:
            raise ValueError(f"{len(data)} bytes are not whole {size}-byte beats")
        step = info["max_load_beats"] * size
        for start in range(0, len(data), step):
            chunk = bytes(data[start:start + step])
            self.command(command, bytes([target]) + chunk)
            if progress is not None:
                progress.advance(len(chunk) // size)

    def run_beats(self, data):
        """RUN raw input beats (``SF`` beats of the board's input stream per vector, as bytes)
        in frames of at most ``max_vectors`` vectors; returns the raw result bytes (``NF``
        output beats per vector) and the summed ``CYCLES`` of the frames."""
        info = self.ident()
        vector_bytes = info["sf"] * info["beat_bytes"]["i"]
        if len(data) % vector_bytes:
            raise ValueError(f"{len(data)} bytes are not whole {vector_bytes}-byte vectors")
        result_bytes = info["nf"] * info["beat_bytes"]["o"]
        out, cycles = bytearray(), 0
        step = info["max_vectors"] * vector_bytes
        for start in range(0, len(data), step):
            chunk = bytes(data[start:start + step])
            reply = self.command(Command.RUN, chunk)
            if len(reply) != len(chunk) // vector_bytes * result_bytes:
                raise LinkError(f"the board returned {len(reply)} result bytes for "
                                f"{len(chunk) // vector_bytes} vectors (expected "
                                f"{len(chunk) // vector_bytes * result_bytes})")
            out += reply
            cycles += self.cycles()
        return bytes(out), cycles

    def _load(self, command, stream, columns, progress):
        info = self.ident()
        fields = stream_fields(info, stream)
        size = info["beat_bytes"][stream]
        self.load_beats(command, 0, pack_beats(columns, fields, size), progress=progress)

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

    def load_network(self, kind, trained, units, *, progress=None):
        """Load a trained digits network into the board's network pipeline, layer by layer
        (weights, then thresholds / requantization parameters); ``units`` are the layers'
        units as the board was built with them (:func:`bitmac.boards.top.network_units`).
        Raises :class:`LinkError` when the board holds a different pipeline."""
        info = self.ident()
        first, last = units[0], units[-1]
        params = sum(1 for unit in units if len(unit.signature.members) > 3)
        board = (len(info["weight_bytes"]), len(info["param_bytes"]), info["n_in"],
                 info["simd"], info["n_out"], info["pe"])
        wanted = (len(units), params, first.n_in, first.simd, last.n_out, last.pe)
        if board != wanted:
            raise LinkError(f"the board on {self.name} does not hold this {kind} network "
                            f"(weight targets, parameter targets, n_in, simd, n_out, pe: "
                            f"board {board}, network {wanted}): build and flash "
                            f"--design {kind}-net")
        # The loads do not depend on the images: encode a blank one (8 x 8 digits).
        streams = network_streams(kind, trained, units, np.zeros((1, 64), dtype=np.int64))
        for command, target, data in streams.loads:
            self.load_beats(command, target, data, progress=progress)
        self._network = (kind, trained, list(units))
        return streams.load_beats

    def classify(self, images):
        """Classify ``images`` (shape ``(M, 64)``, pixels 0..16) on the network loaded by
        :meth:`load_network`. Returns ``(predictions, logits, raw, cycles)``: the classes, the
        last layer's outputs ``(M, classes)``, its output beats as the board sent them, and
        the summed on-chip cycles of the RUN frames."""
        if getattr(self, "_network", None) is None:
            raise LinkError("classify needs a network: call load_network first")
        kind, trained, units = self._network
        streams = network_streams(kind, trained, units, np.asarray(images))
        raw, cycles = self.run_beats(streams.inputs)
        last = units[-1]
        lanes = _decode_lanes(_payload_shape(last, "o_stream"), raw)
        logits = lanes.reshape(len(images), last.n_out)
        return np.argmax(logits, axis=1), logits, raw, cycles

    def cycles(self):
        """Clock cycles of the last RUN frame on the board (first input beat to last result)."""
        return struct.unpack("<I", self.command(Command.CYCLES))[0]
