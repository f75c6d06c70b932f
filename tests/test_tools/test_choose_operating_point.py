"""tools/analysis_tools/choose_operating_point.py on hand-made scores."""
import json
import subprocess
import sys

import pytest

TOOL = 'tools/analysis_tools/choose_operating_point.py'


def write_scores(path, split='train', score='max', topk=None):
    # 100 smoke-free frames scored i / 200 and 5 smoke frames
    frames = [
        dict(img_path=f'/d/{split}/img/n{i}.jpg', score=i / 200, label=0)
        for i in range(1, 101)
    ] + [
        dict(img_path=f'/d/{split}/img/p{i}.jpg', score=s, label=1)
        for i, s in enumerate([0.6, 0.499, 0.4975, 0.4825, 0.2])
    ] + [dict(img_path=f'/d/{split}/img/x.jpg', score=0.99, label=-1)]
    path.write_text(
        json.dumps(
            dict(score=score, topk=topk, min_smoke_pixels=1, frames=frames)))
    return path


def test_cli_writes_the_operating_point(tmp_path, run_tool):
    scores = write_scores(tmp_path / 'frame_scores.json')
    proc = run_tool(TOOL, scores, '--target-fpr', '0.02')
    point = json.loads((tmp_path / 'operating_point.json').read_text())
    # m = floor(0.02 * 100) = 2 smoke-free frames may alarm
    assert point['threshold'] == 0.49
    assert point['fpr'] == pytest.approx(0.02)
    assert point['tpr'] == pytest.approx(0.6)
    assert point['score'] == 'max' and point['topk'] is None
    assert point['rule'] == 'alarm when score > threshold'
    assert point['num_negative'] == 100 and point['num_positive'] == 5
    assert not point['chosen_on_test_split']
    assert 'threshold 0.49 (max)' in proc.stdout


def test_test_split_is_refused(tmp_path, load_tool):
    tool = load_tool(TOOL, 'mmsmoke_choose_operating_point_cli')
    scores = write_scores(tmp_path / 'frame_scores.json', split='test')
    proc = subprocess.run(
        [sys.executable, str(tool.__file__),
         str(scores)],
        capture_output=True,
        text=True)
    assert proc.returncode == 1
    assert 'frame_scores.json: 106 frame(s) come from a test split' in \
        proc.stderr
    record = tool.operating_point(str(scores), 0.02, allow_test_split=True)
    assert record['chosen_on_test_split'] and record['threshold'] == 0.49


def test_bad_scores_files(tmp_path, load_tool):
    tool = load_tool(TOOL, 'mmsmoke_choose_operating_point_bad')
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(frames=[])))
    with pytest.raises(ValueError, match=r"bad.json: keys \['score'"):
        tool.operating_point(str(bad), 0.02)
    only_smoke = tmp_path / 'smoke.json'
    only_smoke.write_text(
        json.dumps(
            dict(
                score='max',
                topk=None,
                min_smoke_pixels=1,
                frames=[dict(img_path='a.jpg', score=0.5, label=1)])))
    with pytest.raises(ValueError, match='smoke.json: no smoke-free frame'):
        tool.operating_point(str(only_smoke), 0.02)
