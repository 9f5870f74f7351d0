"""Amaranth gateware: every block a wiring.Component; imports only Amaranth."""

from .binary_mvu import BinaryLane, BinaryMVU, binary_acc_width, threshold_layout
from .mvu import MatrixVectorEngine, fold_counts, lane_signature, stream_payload_shape
from .popcount import Popcount

__all__ = [
    "Popcount",
    "MatrixVectorEngine", "fold_counts", "lane_signature", "stream_payload_shape",
    "BinaryLane", "BinaryMVU", "binary_acc_width", "threshold_layout",
]
