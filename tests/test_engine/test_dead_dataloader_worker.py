"""A data-loader worker that dies makes training fail at once, naming the
worker, instead of hanging.

``tools/train.py`` runs the tiny SegFormer on the tiny synthetic set with
loader workers (persistent, as shipped) whose dataset is SMOKE5KDataset
with one change, registered by a test-only plugin: the first worker, when
it fetches a given item, kills itself with SIGKILL (what the kernel's OOM
killer does; a segfault ends a worker the same way). Each run has a hard
timeout; it must exit non-zero well inside it, with torch's error naming
the dead worker's pid:

* the training loader with 1 worker (the synthetic configs' setting);
* the training loader with 2 workers (the SMOKE5K / SmokeSeg configs'
  setting: the surviving worker does not keep the run alive);
* the validation loader with 1 worker (the worker dies in ``ValLoop``).
"""
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = (
    REPO / 'configs' / 'segformer' /
    'segformer_mit-b0_1xb4-800_synthetic-256x256.py')
TIMEOUT = 180  # s; a run that hangs is killed here and the test fails

PLUGIN = '''
import os
import signal

from torch.utils.data import get_worker_info

from mmseg.registry import DATASETS
from mmsmoke.datasets import SMOKE5KDataset


@DATASETS.register_module()
class WorkerSuicideSmokeDataset(SMOKE5KDataset):
    """SMOKE5KDataset whose first loader worker SIGKILLs itself on the
    ``kill_on``-th item it fetches (the other workers and the main process
    never do)."""

    def __init__(self, *args, kill_on=3, **kwargs):
        super().__init__(*args, **kwargs)
        self.kill_on = kill_on
        self.fetched = 0

    def __getitem__(self, idx):
        worker = get_worker_info()
        if worker is not None and worker.id == 0:
            self.fetched += 1
            if self.fetched == self.kill_on:
                print(f'WORKER {os.getpid()} KILLS ITSELF', flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
        return super().__getitem__(idx)
'''

#: case: (loader, workers, the item on which the first worker dies). The
#: 9th training item (batch 5 of 2) comes after the first iterations and
#: the loaders' prefetch, so the worker dies while the run trains; the
#: validation worker dies on its 3rd image, in the validation after
#: iteration 2.
CASES = {
    'train, 1 worker': ('train', 1, 9),
    'train, 2 workers': ('train', 2, 9),
    'val, 1 worker': ('val', 1, 3),
}


def _options(data_root, tiny_segformer_options, split, workers, kill_on):
    options = tiny_segformer_options + [
        f'{s}_dataloader.dataset.data_root={data_root}'
        for s in ('train', 'val', 'test')
    ] + [
        'train_dataloader.batch_size=2',
        'model.data_preprocessor.size=(64,64)',
        'train_dataloader.dataset.pipeline.2.scale=(64,64)',
        'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
        'train_cfg.max_iters=8',
        # validate after 2 iterations when the validation worker dies
        f'train_cfg.val_interval={2 if split == "val" else 9}',
        'default_hooks.checkpoint.interval=100',
        'default_hooks.logger.interval=1',
        'default_hooks.visualization.draw=False',
    ]
    for name in ('train', 'val'):
        options += [
            f'{name}_dataloader.num_workers={workers}',
            f'{name}_dataloader.persistent_workers=True'
        ]
    return options + [
        f'{split}_dataloader.dataset.type=WorkerSuicideSmokeDataset',
        f'{split}_dataloader.dataset.kill_on={kill_on}',
    ]


def test_dead_loader_worker_fails_the_run_naming_it(tmp_path, tiny_synthetic,
                                                    tiny_segformer_options):
    (tmp_path / 'worker_suicide_for_tests.py').write_text(
        textwrap.dedent(PLUGIN))
    config = tmp_path / 'config.py'
    config.write_text(
        textwrap.dedent(f'''
        _base_ = [{str(CONFIG)!r}]
        custom_imports = dict(
            imports=['mmsmoke', 'worker_suicide_for_tests'],
            allow_failed_imports=False)
    '''))
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(
        [str(tmp_path), env.get('PYTHONPATH', '')]).rstrip(os.pathsep)
    # The cases are independent: run them side by side.
    runs, start = {}, time.monotonic()
    for case, (split, workers, kill_on) in CASES.items():
        runs[case] = subprocess.Popen([
            sys.executable,
            str(REPO / 'tools/train.py'),
            str(config), '--work-dir',
            str(tmp_path / re.sub(r'\W+', '_', case)), '--cfg-options',
            *_options(tiny_synthetic, tiny_segformer_options, split, workers,
                      kill_on)
        ],
                                      stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT,
                                      text=True,
                                      env=env,
                                      cwd=REPO)
    failures = []
    for case, run in runs.items():
        try:
            out, _ = run.communicate(
                timeout=max(1, TIMEOUT - (time.monotonic() - start)))
        except subprocess.TimeoutExpired:
            run.kill()
            out, _ = run.communicate()
            failures.append(f'{case}: still running after {TIMEOUT} s (hang)'
                            f'\n{out[-2000:]}')
            continue
        dead = re.findall(r'WORKER (\d+) KILLS ITSELF', out)
        error = re.search(
            r'RuntimeError: DataLoader worker \(pid(?:\(s\))? ([\d, ]+)\) '
            r'(is killed by signal: Killed|exited unexpectedly)', out)
        if (run.returncode in (0, None) or len(dead) != 1 or not error
                or dead[0] not in error.group(1)):
            failures.append(f'{case}: rc {run.returncode}\n{out[-3000:]}')
        # The worker died after training had started.
        assert 'Iter(train) [2/8]' in out, f'{case}\n{out[-3000:]}'
    assert not failures, '\n\n'.join(failures)
