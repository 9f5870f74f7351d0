"""Amaranth gateware: every block a wiring.Component; imports only Amaranth."""

from .dsp import (DualInt8Product, RegisteredInt8Product, has_dual_int8_dsp,
                  has_registered_int8_dsp)
from .binary_mvu import BinaryLane, BinaryMVU, binary_acc_width, threshold_layout
from .int8_mac import Int8Mac, check_acc_width, int8_acc_bits
from .int8_mvu import Int8Lane, Int8MVU, StreamDeserializer, StreamSerializer
from .mvu import MatrixVectorEngine, fold_counts, lane_signature, stream_payload_shape
from .popcount import Popcount
from .requantize import QUANT_LAYOUT, REQUANT_LAYOUT, Requantizer

__all__ = [
    "Popcount",
    "MatrixVectorEngine", "fold_counts", "lane_signature", "stream_payload_shape",
    "BinaryLane", "BinaryMVU", "binary_acc_width", "threshold_layout",
    "DualInt8Product", "has_dual_int8_dsp", "RegisteredInt8Product", "has_registered_int8_dsp",
    "Int8Mac", "int8_acc_bits", "check_acc_width",
    "Requantizer", "QUANT_LAYOUT", "REQUANT_LAYOUT",
    "Int8Lane", "Int8MVU", "StreamSerializer", "StreamDeserializer",
]
