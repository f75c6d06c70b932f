"""tools/analysis_tools/plot_reliability.py on a synthetic bins file."""
import importlib.util
import json
from pathlib import Path

import cv2
import pytest
import torch

from mmsmoke.evaluation.functional.calibration import (
    binned_calibration_stats, positive_class_confidences,
    reliability_diagram_data, top_label_confidences)

REPO = Path(__file__).resolve().parents[2]


def _load_tool():
    path = REPO / 'tools/analysis_tools/plot_reliability.py'
    spec = importlib.util.spec_from_file_location('plot_reliability', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bins_file(tmp_path) -> Path:
    """reliability_bins.json in SmokeMetric's format (see _write_outputs)."""
    gen = torch.Generator().manual_seed(0)
    prob = torch.rand(5000, generator=gen)
    label = (torch.rand(5000, generator=gen) < prob**2).long()
    prob[:20] = 1.0  # the extra slot of confidences exactly 1.0
    pos = binned_calibration_stats(*positive_class_confidences(prob, label),
                                   10)
    top = binned_calibration_stats(*top_label_confidences(prob, label), 10)
    bins = dict(
        n_bins=10,
        note='slot n_bins holds confidences exactly equal to 1.0',
        positive_class=reliability_diagram_data(pos),
        top_label=reliability_diagram_data(top))
    path = tmp_path / 'reliability_bins.json'
    path.write_text(json.dumps(bins))
    return path


def test_plot_from_bins_file(tmp_path):
    tool = _load_tool()
    bins = _bins_file(tmp_path)
    out = tool.main([str(bins)])
    assert out == str(tmp_path / 'reliability.png')
    both = cv2.imread(out)
    # 2 diagrams of 4.8 x 5.6 inches at 120 dpi
    assert both.shape == (672, 1152, 3)
    one = tool.main([
        str(bins), '--out',
        str(tmp_path / 'sub' / 'pos.png'), '--kinds', 'positive_class',
        '--dpi', '50', '--title', 'synthetic'
    ])
    assert cv2.imread(one).shape == (280, 240, 3)


def test_metrics_json_and_empty_bins(tmp_path):
    tool = _load_tool()
    bins = json.loads(_bins_file(tmp_path).read_text())
    empty = reliability_diagram_data(
        binned_calibration_stats(torch.zeros(0), torch.zeros(0), 5))
    metrics = tmp_path / 'metrics.json'
    metrics.write_text(
        json.dumps(
            dict(
                F1=0.5,
                reliability_bins=dict(
                    positive_class=bins['positive_class'], top_label=empty))))
    loaded = tool.load_bins(str(metrics))
    assert set(loaded) == {'positive_class', 'top_label'}
    assert tool.plot_reliability(loaded, str(
        tmp_path / 'm.png')) == ['positive_class', 'top_label']
    assert cv2.imread(str(tmp_path / 'm.png')) is not None


def test_bad_files_are_named(tmp_path):
    tool = _load_tool()
    with pytest.raises(FileNotFoundError, match='nope.json: file not found'):
        tool.load_bins(str(tmp_path / 'nope.json'))
    bad = tmp_path / 'bad.json'
    bad.write_text('{')
    with pytest.raises(ValueError, match='bad.json: not valid JSON'):
        tool.load_bins(str(bad))
    bad.write_text(json.dumps(dict(ECE=0.1)))
    with pytest.raises(ValueError, match='bad.json: no reliability bins'):
        tool.load_bins(str(bad))
    bad.write_text(json.dumps(dict(positive_class=dict(count=[1, 2]))))
    with pytest.raises(ValueError, match='positive_class lacks'):
        tool.load_bins(str(bad))
