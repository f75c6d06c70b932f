"""Deployment: ONNX export of the segmentors (needs onnx, onnxruntime)."""
from .export_wrapper import SegmentorExportWrapper
from .onnx_export import (antialias_resize_symbolic, export_metadata,
                          export_onnx, run_onnxruntime, verify_onnx)
from .static_adaptive_avg_pool import (StaticAdaptiveAvgPool2d,
                                       replace_adaptive_avg_pools)

__all__ = [
    'SegmentorExportWrapper', 'antialias_resize_symbolic', 'export_metadata',
    'export_onnx', 'run_onnxruntime', 'verify_onnx', 'StaticAdaptiveAvgPool2d',
    'replace_adaptive_avg_pools'
]
