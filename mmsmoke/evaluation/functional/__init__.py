"""Functional helpers of the smoke evaluation metrics."""
from .calibration import (binned_calibration_stats, calibration_bin_boundaries,
                          expected_calibration_error, max_calibration_error,
                          positive_class_confidences, reliability_diagram_data,
                          top_label_confidences)

__all__ = [
    'binned_calibration_stats', 'calibration_bin_boundaries',
    'expected_calibration_error', 'max_calibration_error',
    'positive_class_confidences', 'reliability_diagram_data',
    'top_label_confidences'
]
