"""Checkpoints that a killed save cannot truncate or lose.

mmengine's ``CheckpointHook`` writes ``iter_N.pth`` straight to its final
name, rewrites ``last_checkpoint`` in place, deletes the checkpoint that
``max_keep_ckpts`` drops (or the previous best one) *before* the new one is
written, and rewrites the current checkpoint in place after a better
validation score. A run killed during one of those writes can be left with
a truncated file, or with a ``last_checkpoint`` that names a truncated or
deleted file, and ``--resume`` then fails. :class:`AtomicCheckpointHook`
orders the same writes so that, at every instant, ``last_checkpoint`` names
a complete file.
"""
import hashlib
import logging
import os
import os.path as osp
import pickle
import shutil
from typing import List, Optional

from mmengine.dist import is_main_process, master_only
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint

from mmseg.registry import HOOKS

from mmsmoke.utils.safe_loading import data_only_logs

#: Suffix of a file being written; it is renamed to its final name once
#: complete, so a file with this suffix is what an interrupted save left.
INCOMPLETE_SUFFIX = '.incomplete'
LAST_CHECKPOINT = 'last_checkpoint'


def fsync_path(path: str) -> None:
    """Flush a file's (or, on POSIX, a directory's) data to the disk.

    Used before a rename, so that the renamed file is complete on the disk,
    and on the directory after it, so that the rename itself survives a
    power loss. File systems that cannot sync a directory are tolerated.
    """
    if osp.isdir(path):
        if os.name != 'posix':
            return
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
        return
    with open(path, 'rb+') as f:
        os.fsync(f.fileno())


def replace_atomically(src: str, dst: str) -> None:
    """Sync ``src`` and rename it to ``dst`` in one step (same directory).

    ``os.replace`` is atomic on POSIX and Windows: a reader sees either the
    old ``dst`` or the complete new one, never a part. A checkpoint saved
    as a directory (sharded runners) is moved as a whole instead, which is
    not atomic when ``dst`` already exists.
    """
    if osp.isdir(src):
        if osp.isdir(dst):
            shutil.rmtree(dst)
        os.replace(src, dst)
    else:
        fsync_path(src)
        os.replace(src, dst)
    fsync_path(osp.dirname(osp.abspath(dst)))


def write_text_atomically(text: str, path: str) -> None:
    """Write ``text`` to ``path`` through ``<path>.incomplete`` and a
    rename, so ``path`` always holds either its old or its new text."""
    part = path + INCOMPLETE_SUFFIX
    with open(part, 'w') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    replace_atomically(part, path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """A ``CheckpointHook`` whose saves survive a kill at any point.

    It takes every argument of mmengine's ``CheckpointHook`` and saves the
    same files with the same contents; only the order and the way of
    writing change, on a local ``out_dir``:

    - each checkpoint (periodic, last, best, and the published copy) is
      written by ``runner.save_checkpoint`` under ``<name>.incomplete`` in
      its final directory, synced to the disk, then renamed to ``<name>``
      with ``os.replace``; a kill leaves at most a ``*.incomplete`` file,
      never a truncated ``<name>``;
    - ``last_checkpoint`` (what ``--resume`` reads) is replaced the same
      way, and only after the checkpoint it names is in place;
    - the checkpoint that ``max_keep_ckpts`` drops is deleted only after
      its successor is in place and named by ``last_checkpoint``, and the
      previous best checkpoint only after the checkpoint that records the
      new best (the stock hook deletes both first, so a kill during the
      next write left ``last_checkpoint`` naming a deleted file);
    - the current checkpoint that ``save_best`` saves again after a better
      score (to record it) is replaced, not rewritten in place.

    Its checkpoints also load with ``torch.load(weights_only=True)``, the
    default of torch >= 2.6 that mmengine's loaders use: before each save
    the message-hub logs of the checkpoint are made data-only
    (:func:`mmsmoke.utils.safe_loading.data_only_logs`), so the file names
    no ``getattr`` (README, Getting started).

    ``*.incomplete`` files left by a killed run are removed when training
    starts again (``before_train``). A kill between a rename and the
    deletion of the file it supersedes can leave one extra checkpoint on
    the disk, which the resumed run does not track (as with the stock
    hook); nothing is lost.

    On a remote ``out_dir`` (a non-local ``backend_args`` backend, where a
    put is atomic and renames are not offered), the hook behaves like
    ``CheckpointHook``.

    Every mmsmoke schedule uses it (``configs/_base_/schedules/
    iter_hooks.py``); in a config of your own::

        default_hooks = dict(
            checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False,
                            interval=4000))
    """

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Swap the checkpoint's log buffers for data-only copies."""
        if isinstance(checkpoint.get('message_hub'), dict):
            checkpoint['message_hub'] = data_only_logs(
                checkpoint['message_hub'])

    def before_train(self, runner) -> None:
        """Set up the output directory, then remove ``*.incomplete`` files
        that a killed save left there."""
        super().before_train(runner)
        backend = getattr(self.file_backend, 'client', self.file_backend)
        self._atomic = isinstance(backend, LocalBackend)
        if self._atomic and is_main_process():
            for path in self._incomplete_files(runner):
                os.remove(path)
                runner.logger.warning(
                    f'AtomicCheckpointHook: removed {path}, left by a '
                    'checkpoint save that did not finish.')

    def _incomplete_files(self, runner) -> List[str]:
        """The ``*.incomplete`` files in ``out_dir`` and ``work_dir``."""
        found = []
        for folder in sorted({self.out_dir, runner.work_dir}):
            if not osp.isdir(folder):
                continue
            found += [
                osp.join(folder, name) for name in sorted(os.listdir(folder))
                if name.endswith(INCOMPLETE_SUFFIX)
                and osp.isfile(osp.join(folder, name))
            ]
        return found

    # ------------------------------------------------------------ writing
    def _save(self, runner, filename: str, **kwargs) -> None:
        """``runner.save_checkpoint(out_dir, filename)``, through a
        temporary name and a rename on a local ``out_dir``."""
        kwargs.update(
            file_client_args=self.file_client_args,
            backend_args=self.backend_args)
        if not getattr(self, '_atomic', False):
            runner.save_checkpoint(self.out_dir, filename, **kwargs)
            return
        runner.save_checkpoint(self.out_dir, filename + INCOMPLETE_SUFFIX,
                               **kwargs)
        if is_main_process():  # runner.save_checkpoint is master-only
            final = self.file_backend.join_path(self.out_dir, filename)
            replace_atomically(final + INCOMPLETE_SUFFIX, final)

    def _remove(self, path: Optional[str]) -> bool:
        """Delete a superseded checkpoint (a file, or a directory saved by
        a sharded runner); False when there is none."""
        if not path:
            return False
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)
        else:
            return False
        return True

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Save checkpoint ``step``, point ``last_checkpoint`` at it, and
        only then delete the checkpoint ``max_keep_ckpts`` drops."""
        dropped = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            # The same bookkeeping as CheckpointHook (the saved message hub
            # already lists the kept ids without the dropped one).
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                dropped = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self._save(
            runner,
            filename,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            **self.args)
        if not is_main_process():
            return
        last = osp.join(runner.work_dir, LAST_CHECKPOINT)
        if getattr(self, '_atomic', False):
            write_text_atomically(self.last_ckpt, last)
        else:
            with open(last, 'w') as f:
                f.write(self.last_ckpt)
        if dropped is not None and dropped != step:
            self._remove(
                self.file_backend.join_path(
                    self.out_dir, self.filename_tmpl.format(dropped)))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """Save a checkpoint for each ``save_best`` metric that improved;
        the previous best files are deleted only once the current
        checkpoint, saved again to record the new best, is in place.

        The message-hub keys (``best_score[_<metric>]``,
        ``best_ckpt[_<metric>]``) and the file names
        (``best_<metric>_iter_N.pth``) are CheckpointHook's, so runs resume
        across the two hooks.
        """
        if not self.save_best:
            return
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])
        step = runner.epoch if self.by_epoch else runner.iter
        unit = 'epoch' if self.by_epoch else 'iter'
        ckpt_filename = self.filename_tmpl.format(step)
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        single = len(self.key_indicators) == 1

        improved, superseded = False, []
        for key, rule in zip(self.key_indicators, self.rules):
            score = metrics[key]
            score_key = 'best_score' if single else f'best_score_{key}'
            path_key = 'best_ckpt' if single else f'best_ckpt_{key}'
            best = (
                runner.message_hub.get_info(score_key)
                if score_key in runner.message_hub.runtime_info else
                self.init_value_map[rule])
            if score is None or not self.is_better_than[key](score, best):
                continue
            improved = True
            runner.message_hub.update_info(score_key, score)

            previous = (
                self.best_ckpt_path
                if single else self.best_ckpt_path_dict[key])
            name = f'best_{key}_{ckpt_filename}'.replace('/', '_')
            path = self.file_backend.join_path(self.out_dir, name)
            if single:
                self.best_ckpt_path = path
            else:
                self.best_ckpt_path_dict[key] = path
            runner.message_hub.update_info(path_key, path)
            self._save(
                runner,
                name,
                save_optimizer=False,
                save_param_scheduler=False,
                meta=dict(meta),
                by_epoch=False)
            runner.logger.info(
                f'The best checkpoint with {score:0.4f} {key} at {step} '
                f'{unit} is saved to {name}.')
            if previous and previous != path:
                superseded.append(previous)

        # As CheckpointHook: save the current checkpoint again so that the
        # one --resume reads records the new best score and path; the old
        # best files go only then, so the best path recorded in the file
        # that last_checkpoint names always exists.
        if improved and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, step, meta)
        if not is_main_process():
            return
        for previous in superseded:
            if self._remove(previous):
                runner.logger.info(
                    f'The previous best checkpoint {previous} is removed')

    @master_only
    def _publish_model(self, runner, ckpt_path: str) -> None:
        """Save ``ckpt_path`` with only ``published_keys`` as
        ``<name>-<sha256[:8]>.pth`` (CheckpointHook's name), atomically."""
        if not getattr(self, '_atomic', False):
            super()._publish_model(runner, ckpt_path)
            return
        checkpoint = _load_checkpoint(ckpt_path)
        removed = [k for k in list(checkpoint) if k not in self.published_keys]
        for key in removed:
            checkpoint.pop(key)
        if removed:
            print_log(
                f'Key {removed} will be removed because they are not found '
                'in published_keys. If you want to keep them, please set '
                f'`{removed}` in published_keys',
                logger='current',
                level=logging.INFO)
        sha = hashlib.sha256(pickle.dumps(checkpoint)).hexdigest()
        final = osp.splitext(ckpt_path)[0] + f'-{sha[:8]}.pth'
        save_checkpoint(checkpoint, final + INCOMPLETE_SUFFIX)
        replace_atomically(final + INCOMPLETE_SUFFIX, final)
        print_log(
            f'The checkpoint ({ckpt_path}) is published to {final}.',
            logger='current')
