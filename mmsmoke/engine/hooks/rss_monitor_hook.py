"""Record the resident memory of a run, to spot growth in long runs."""
import json
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Union

from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmseg.registry import HOOKS
from mmsmoke.utils.memory import current_rss_mib, peak_rss_mib

DATA_BATCH = Optional[Union[dict, tuple, list]]


@HOOKS.register_module()
class RSSMonitorHook(Hook):
    """Sample the process RSS every ``interval`` iterations.

    Every ``interval`` training, validation or test iterations (and at the
    first and the last one), and once more after a validation or test loop
    has computed its metrics (mode ``'val_metrics'`` / ``'test_metrics'``),
    the hook reads the resident set size and the peak RSS of the process,
    and

    - logs one line ``RSS <mode> iter <i>: <rss> MiB (peak <peak> MiB)``;
    - in training, updates the scalar ``train/rss_mib`` of the message hub,
      so the standard log line and the visual backends (TensorBoard) show
      it (the log line shows its mean over the logger's window);
    - appends a JSON line ``{"mode", "iter", "rss_mib", "peak_rss_mib",
      "time"}`` to ``<log_dir>/<file_name>`` (one file per rank under
      distributed runs), and keeps the records in :attr:`records`.

    Only the calling process is measured, not dataloader workers; run
    memory benchmarks with ``num_workers=0`` to see everything in one RSS.

    Example::

        custom_hooks = [dict(type='RSSMonitorHook', interval=100)]

    Args:
        interval (int): Iterations between two samples. Defaults to 50.
        modes (Sequence[str]): Loops to watch, among ``'train'``, ``'val'``
            and ``'test'``. Defaults to all three.
        file_name (str, optional): JSON-lines file in the run's log
            directory; None writes no file. Defaults to ``'rss.jsonl'``.
    """

    priority = 'NORMAL'  # before LoggerHook, so the scalar is logged
    MODES = ('train', 'val', 'test')

    def __init__(self,
                 interval: int = 50,
                 modes: Sequence[str] = MODES,
                 file_name: Optional[str] = 'rss.jsonl') -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(
                f'interval must be a positive integer, got {interval!r}')
        unknown = sorted(set(modes) - set(self.MODES))
        if unknown:
            raise ValueError(f'unknown modes {unknown}; choose from '
                             f'{list(self.MODES)}')
        self.interval = interval
        self.modes = tuple(modes)
        self.file_name = file_name
        self.records: List[Dict[str, Union[str, int, float]]] = []
        self._path: Optional[str] = None

    def before_run(self, runner) -> None:
        """Place the records file in the run's log directory."""
        if self.file_name:
            name = self.file_name
            if get_world_size() > 1:
                stem, ext = osp.splitext(name)
                name = f'{stem}_rank{get_rank()}{ext}'
            self._path = osp.join(runner.log_dir, name)

    def _record(self, runner, mode: str, iteration: int) -> None:
        rss, peak = current_rss_mib(), peak_rss_mib()
        record = dict(
            mode=mode,
            iter=iteration,
            rss_mib=round(rss, 2),
            peak_rss_mib=round(peak, 2),
            time=round(time.time(), 3))
        self.records.append(record)
        if mode == 'train':
            runner.message_hub.update_scalar('train/rss_mib', rss)
        print_log(
            f'RSS {mode} iter {iteration}: {rss:.1f} MiB '
            f'(peak {peak:.1f} MiB)',
            logger='current')
        if self._path is not None:
            with open(self._path, 'a') as f:
                f.write(json.dumps(record) + '\n')

    def _due(self, iteration: int, total: Optional[int]) -> bool:
        return (iteration == 1 or iteration % self.interval == 0
                or (total is not None and iteration == total))

    @staticmethod
    def _loop_length(runner, mode: str) -> Optional[int]:
        loop = runner.val_loop if mode == 'val' else runner.test_loop
        return len(loop.dataloader) if hasattr(loop, 'dataloader') else None

    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch: DATA_BATCH = None,
                    outputs: Optional[Union[dict, Sequence]] = None,
                    mode: str = 'train') -> None:
        """Sample after a training iteration or a validation/test batch.

        mmengine's ``after_train_iter``, ``after_val_iter`` and
        ``after_test_iter`` call this with their ``mode``; the iteration is
        ``runner.iter + 1`` in training and ``batch_idx + 1`` otherwise.
        """
        if mode not in self.modes:
            return
        if mode == 'train':
            iteration, total = runner.iter + 1, runner.max_iters
        else:
            iteration = batch_idx + 1
            total = self._loop_length(runner, mode)
        if self._due(iteration, total):
            self._record(runner, mode, iteration)

    def _after_eval_epoch(self, runner, mode: str) -> None:
        if mode not in self.modes:
            return
        total = self._loop_length(runner, mode)
        self._record(runner, f'{mode}_metrics', -1 if total is None else total)

    def after_val_epoch(self,
                        runner,
                        metrics: Optional[Dict[str, float]] = None) -> None:
        """Sample once the metrics of the validation are computed."""
        self._after_eval_epoch(runner, 'val')

    def after_test_epoch(self,
                         runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        """Sample once the metrics of the test are computed."""
        self._after_eval_epoch(runner, 'test')
