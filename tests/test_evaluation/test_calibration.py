"""Tests of the streaming fixed-bin calibration statistics."""
import numpy as np
import pytest
import torch
from torchmetrics.classification import (BinaryCalibrationError,
                                         MulticlassCalibrationError)

from mmsmoke.evaluation.functional.calibration import (
    binned_calibration_stats, calibration_bin_boundaries,
    expected_calibration_error, max_calibration_error,
    positive_class_confidences, reliability_diagram_data,
    top_label_confidences)


def _edge_case_probs(n_bins: int, n_random: int, seed: int) -> torch.Tensor:
    """Random probabilities plus 0, 1, 0.5, every bin edge and its mirror."""
    gen = torch.Generator().manual_seed(seed)
    edges = calibration_bin_boundaries(n_bins)
    special = torch.cat([
        torch.tensor([0.0, 1.0, 0.5, 0.5, 0.0, 1.0]), edges, 1 - edges,
        torch.nextafter(edges, torch.ones_like(edges)),
        torch.nextafter(edges, torch.zeros_like(edges)).clamp(min=0)
    ])
    # Saturated sigmoid outputs: exactly 0 and exactly 1 in float32.
    saturated = torch.sigmoid(torch.tensor([-120.0, 120.0, 40.0, -40.0]))
    random = torch.rand(n_random, generator=gen)
    return torch.cat([special, saturated, random]).float()


def _ours(probs, target, n_bins, family):
    conf, acc = family(probs, target)
    stats = binned_calibration_stats(conf, acc, n_bins)
    return expected_calibration_error(stats), max_calibration_error(stats)


@pytest.mark.parametrize('n_bins', [1, 2, 10, 15])
@pytest.mark.parametrize('seed', [0, 1])
def test_matches_torchmetrics_binary_and_multiclass(n_bins, seed):
    probs = _edge_case_probs(n_bins, 3000, seed)
    gen = torch.Generator().manual_seed(seed + 100)
    # Targets correlated with the probabilities, so that ECE is not trivial.
    target = (torch.rand(probs.shape, generator=gen) < probs**1.5).long()

    ece, mce = _ours(probs, target, n_bins, positive_class_confidences)
    ref_ece = BinaryCalibrationError(n_bins=n_bins, norm='l1')(probs, target)
    ref_mce = BinaryCalibrationError(n_bins=n_bins, norm='max')(probs, target)
    assert ece == pytest.approx(float(ref_ece), abs=1e-5)
    assert mce == pytest.approx(float(ref_mce), abs=1e-5)

    two_class = torch.stack([1 - probs, probs], dim=1)
    ece_top, mce_top = _ours(probs, target, n_bins, top_label_confidences)
    ref_top = MulticlassCalibrationError(
        num_classes=2, n_bins=n_bins, norm='l1')(two_class, target)
    ref_top_max = MulticlassCalibrationError(
        num_classes=2, n_bins=n_bins, norm='max')(two_class, target)
    assert ece_top == pytest.approx(float(ref_top), abs=1e-5)
    assert mce_top == pytest.approx(float(ref_top_max), abs=1e-5)
    # The two conventions measure different things.
    assert abs(ece - ece_top) > 1e-4


def test_hand_computed_two_bins():
    probs = torch.tensor([0.25, 0.25, 0.55, 0.75, 0.75])
    target = torch.tensor([0, 0, 1, 1, 1])
    stats = binned_calibration_stats(
        *positive_class_confidences(probs, target), n_bins=2)
    # Bin [0, .5): conf .25, 0 positives; bin [.5, 1): conf .6833, all pos.
    np.testing.assert_allclose(stats[0], [2, 3, 0])
    np.testing.assert_allclose(stats[1], [0.5, 2.05, 0], atol=1e-6)
    np.testing.assert_allclose(stats[2], [0, 3, 0])
    gap1 = 1 - 2.05 / 3
    assert expected_calibration_error(stats) == pytest.approx(
        (2 * 0.25 + 3 * gap1) / 5, abs=1e-6)
    assert max_calibration_error(stats) == pytest.approx(gap1, abs=1e-6)


def test_confidence_one_has_its_own_slot():
    # A saturated prediction (exactly 1.0) is not merged into the last bin:
    # separate slots give (0.4 + 1.0) / 2 = 0.7, a merged last bin 0.3.
    probs = torch.tensor([0.6, 1.0])
    target = torch.tensor([1, 0])
    stats = binned_calibration_stats(
        *positive_class_confidences(probs, target), n_bins=2)
    np.testing.assert_array_equal(stats[0], [0, 1, 1])
    assert expected_calibration_error(stats) == pytest.approx(0.7)
    ref = BinaryCalibrationError(n_bins=2)(probs, target)
    assert float(ref) == pytest.approx(0.7)
    # Exactly 0 falls in the first bin.
    stats0 = binned_calibration_stats(
        *positive_class_confidences(torch.tensor([0.0]), torch.tensor([0])),
        n_bins=4)
    np.testing.assert_array_equal(stats0[0], [1, 0, 0, 0, 0])


def test_top_label_tie_predicts_background():
    probs = torch.tensor([0.5, 0.5, 0.8, 0.1])
    target = torch.tensor([0, 1, 1, 1])
    conf, acc = top_label_confidences(probs, target)
    torch.testing.assert_close(conf, torch.tensor([0.5, 0.5, 0.8, 0.9]))
    torch.testing.assert_close(acc, torch.tensor([1.0, 0.0, 1.0, 0.0]))


def test_streaming_sum_equals_one_call():
    probs = _edge_case_probs(15, 2000, 3)
    target = (torch.rand(probs.shape) < probs).long()
    whole = binned_calibration_stats(
        *positive_class_confidences(probs, target), 15)
    parts = sum(
        binned_calibration_stats(*positive_class_confidences(p, t), 15)
        for p, t in zip(probs.split(333), target.split(333)))
    np.testing.assert_allclose(parts, whole, rtol=1e-12, atol=1e-9)
    assert expected_calibration_error(parts) == pytest.approx(
        expected_calibration_error(whole), abs=1e-12)


def test_reliability_diagram_data():
    probs = torch.tensor([0.05, 0.15, 0.15, 1.0])
    target = torch.tensor([0, 1, 0, 1])
    stats = binned_calibration_stats(
        *positive_class_confidences(probs, target), n_bins=5)
    data = reliability_diagram_data(stats)
    assert len(data['count']) == 6
    assert data['count'] == [3, 0, 0, 0, 0, 1]
    assert data['bin_lower'][0] == 0.0 and data['bin_upper'][-1] == 1.0
    assert data['bin_lower'][-1] == 1.0
    assert data['confidence'][1] is None and data['accuracy'][1] is None
    assert data['confidence'][0] == pytest.approx(0.35 / 3)
    assert data['accuracy'][0] == pytest.approx(1 / 3)
    assert data['gap'][5] == pytest.approx(0.0)
    assert data['num_samples'] == 4
    assert data['ece'] == pytest.approx(expected_calibration_error(stats))


def test_empty_and_invalid_inputs():
    empty = binned_calibration_stats(torch.zeros(0), torch.zeros(0), 3)
    assert empty.shape == (3, 4) and not empty.any()
    assert np.isnan(expected_calibration_error(empty))
    assert np.isnan(max_calibration_error(empty))
    with pytest.raises(ValueError, match='\\[0, 1\\]'):
        binned_calibration_stats(torch.tensor([1.5]), torch.tensor([1.0]), 3)
    with pytest.raises(ValueError, match='n_bins'):
        binned_calibration_stats(torch.tensor([0.5]), torch.tensor([1.0]), 0)
    with pytest.raises(ValueError, match='same shape'):
        positive_class_confidences(torch.rand(3), torch.ones(4))
    with pytest.raises(TypeError, match='floating'):
        top_label_confidences(torch.ones(3, dtype=torch.long), torch.ones(3))
