"""Functional helpers of the smoke evaluation metrics."""
from .calibration import (binned_calibration_stats, calibration_bin_boundaries,
                          calibration_family, expected_calibration_error,
                          max_calibration_error, positive_class_confidences,
                          reliability_diagram_data, top_label_confidences)
from .count_scores import (alarm_family, fosp_family, fosp_scores,
                           pooled_family, raises_alarm, size_group_families)
from .frame_alarms import (choose_operating_point, frame_label,
                           frame_ranking_family, load_operating_point,
                           operating_point_family, read_operating_point,
                           tpr_at_fpr)
from .frame_scores import FRAME_SCORES, frame_scores, topk_counts
from .sample_inputs import (sample_ground_truth, sample_name,
                            sample_probability, sample_size_group)
from .sod import probability_to_uint8, sod_family, sod_scores

__all__ = [
    'binned_calibration_stats', 'calibration_bin_boundaries',
    'calibration_family', 'expected_calibration_error',
    'max_calibration_error', 'positive_class_confidences',
    'reliability_diagram_data', 'top_label_confidences', 'alarm_family',
    'fosp_family', 'fosp_scores', 'pooled_family', 'raises_alarm',
    'size_group_families', 'sample_ground_truth', 'sample_name',
    'sample_probability', 'sample_size_group', 'probability_to_uint8',
    'sod_family', 'sod_scores', 'FRAME_SCORES', 'frame_scores', 'topk_counts',
    'frame_label', 'frame_ranking_family', 'tpr_at_fpr',
    'operating_point_family', 'choose_operating_point', 'load_operating_point',
    'read_operating_point'
]
