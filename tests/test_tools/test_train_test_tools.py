"""The stock tools end to end: train, interrupt, --resume, test --out.

Runs ``tools/train.py`` and ``tools/test.py`` as a user would, in
subprocesses, on a tiny SegFormer and the tiny synthetic set. The resume
goes through ``torch.load`` with torch's default ``weights_only=True``.
"""
import json
import re
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs/segformer/segformer_mit-b0_1xb4-800_synthetic-256x256.py'
MAX_ITERS = 40


def _tiny_options(loader_options: list,
                  tiny_segformer_options: list) -> list:
    return loader_options + tiny_segformer_options + [
        f'train_cfg.max_iters={MAX_ITERS}',
        f'train_cfg.val_interval={MAX_ITERS}',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.checkpoint.max_keep_ckpts=3',
        'default_hooks.logger.interval=1',
        'randomness.seed=0',
    ]


def _train_cmd(work_dir: Path, options: list, *extra) -> list:
    return [sys.executable, str(REPO / 'tools/train.py'), str(CONFIG),
            '--work-dir', str(work_dir), *extra, '--cfg-options', *options]


def _env():
    env = dict(os.environ)
    env['OMP_NUM_THREADS'] = '1'
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    env.pop('TORCH_FORCE_WEIGHTS_ONLY_LOAD', None)
    return env


def _test_metrics(run_tool, config, checkpoint, work_dir, options, *extra):
    """Run tools/test.py; the metrics it wrote into ``work_dir``."""
    run = run_tool('tools/test.py', config, checkpoint, '--work-dir',
                   work_dir, *extra, '--cfg-options', *options, env=_env(),
                   output_tail=4000, timeout=None)
    metrics_files = sorted(work_dir.glob('*/*.json'))
    assert metrics_files, (run.stdout + run.stderr)[-2000:]
    return json.loads(metrics_files[-1].read_text())


def test_train_interrupt_resume_and_test(tmp_path, tiny_synthetic,
                                         loader_options,
                                         tiny_segformer_options, run_tool):
    work = tmp_path / 'work'
    options = _tiny_options(
        loader_options(tiny_synthetic), tiny_segformer_options)
    log1 = open(tmp_path / 'run1.log', 'w')
    proc = subprocess.Popen(
        _train_cmd(work, options), stdout=log1,
        stderr=subprocess.STDOUT, env=_env(), cwd=REPO)
    deadline = time.time() + 300
    while not (work / 'iter_4.pth').exists():
        assert proc.poll() is None, (tmp_path / 'run1.log').read_text()
        assert time.time() < deadline, 'no checkpoint within 300 s'
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # an interruption, not a clean stop
    proc.wait()
    log1.close()
    interrupted_at = int(
        (work / 'last_checkpoint').read_text().strip().rsplit('_', 1)[1]
        .split('.')[0])
    # iter_4.pth may be half written when the kill lands; resuming then
    # starts from the previous complete checkpoint.
    assert 2 <= interrupted_at < MAX_ITERS, 'the run was not interrupted'

    run2 = subprocess.run(
        _train_cmd(work, options, '--resume'),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=_env(), cwd=REPO)
    assert run2.returncode == 0, run2.stdout[-4000:]
    assert f'resumed epoch: 0, iter: {interrupted_at}' in run2.stdout
    first_iter = re.search(r'Iter\(train\) \[\s*(\d+)/', run2.stdout)
    assert first_iter and int(first_iter.group(1)) == interrupted_at + 1
    final = work / f'iter_{MAX_ITERS}.pth'
    assert final.exists()
    assert (work / 'last_checkpoint').read_text().strip().endswith(
        f'iter_{MAX_ITERS}.pth')

    # Test with the config the resumed run dumped into its work dir, as
    # users do; it carries resume=True, which testing must not act on.
    dumped = work / CONFIG.name
    assert 'resume = True' in dumped.read_text()
    out = tmp_path / 'pred'
    metrics = _test_metrics(run_tool, dumped, final, tmp_path / 'test',
                            options, '--out', out, '--show-dir',
                            tmp_path / 'vis')
    for key in ('Fbeta_max', 'Fbeta_adp', 'MAE', 'Smeasure', 'mF1_img',
                'mIoU_img', 'IoU', 'F1', 'ECE', 'false_alarm_rate'):
        assert key in metrics, key
    assert 0.0 <= metrics['Fbeta_max'] <= 1.0
    stems = sorted(p.stem for p in (tiny_synthetic / 'test/img').iterdir())
    assert sorted(p.stem for p in (out / 'pred_masks').iterdir()) == stems
    assert len(list((tmp_path / 'vis').rglob('*.png'))) == len(stems)

    # --tta: three scales x two flips per image, merged by SmokeTTAModel
    tta_out = tmp_path / 'pred_tta'
    tta_metrics = _test_metrics(run_tool, CONFIG, final,
                                tmp_path / 'test_tta', options, '--tta',
                                '--out', tta_out)
    assert 0.0 <= tta_metrics['Fbeta_max'] <= 1.0
    assert 0.0 <= tta_metrics['ECE'] <= 1.0
    assert sorted(p.stem
                  for p in (tta_out / 'pred_masks').iterdir()) == stems
