"""RSSMonitorHook on a stand-in runner: when it samples, what it writes."""
import json
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub

from mmsmoke.engine.hooks import RSSMonitorHook
from mmsmoke.utils.memory import current_rss_mib, peak_rss_mib


def _runner(tmp_path, max_iters=10, eval_batches=5):
    loop = SimpleNamespace(dataloader=list(range(eval_batches)))
    return SimpleNamespace(
        iter=0,
        max_iters=max_iters,
        log_dir=str(tmp_path),
        message_hub=MessageHub.get_instance('rss_monitor_hook_test'),
        val_loop=loop,
        test_loop=loop)


def test_memory_readings_are_plausible():
    rss, peak = current_rss_mib(), peak_rss_mib()
    # This process imported torch: tens of MiB at least, far below 1 TiB.
    assert 10 < rss < 1024 * 1024
    assert peak >= rss


def test_samples_first_every_interval_and_last(tmp_path):
    runner = _runner(tmp_path, max_iters=10)
    hook = RSSMonitorHook(interval=4)
    hook.before_run(runner)
    for i in range(10):
        runner.iter = i
        hook.after_train_iter(runner, batch_idx=i)
    for i in range(5):
        hook.after_test_iter(runner, batch_idx=i)
    hook.after_test_epoch(runner, metrics={})
    seen = [(r['mode'], r['iter']) for r in hook.records]
    assert seen == [('train', 1), ('train', 4), ('train', 8), ('train', 10),
                    ('test', 1), ('test', 4), ('test', 5), ('test_metrics', 5)]
    lines = (tmp_path / 'rss.jsonl').read_text().splitlines()
    assert [json.loads(ln) for ln in lines] == hook.records
    for r in hook.records:
        assert r['peak_rss_mib'] >= r['rss_mib'] > 0
    buf = runner.message_hub.get_scalar('train/rss_mib')
    assert len(buf.data[0]) == 4  # the four training samples


def test_modes_and_no_file(tmp_path):
    runner = _runner(tmp_path)
    hook = RSSMonitorHook(interval=1, modes=('val', ), file_name=None)
    hook.before_run(runner)
    hook.after_train_iter(runner, batch_idx=0)
    hook.after_val_iter(runner, batch_idx=0)
    hook.after_test_iter(runner, batch_idx=0)
    assert [r['mode'] for r in hook.records] == ['val']
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize('kwargs,match', [
    (dict(interval=0), 'interval'),
    (dict(interval=2.5), 'interval'),
    (dict(modes=('train', 'predict')), 'predict'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RSSMonitorHook(**kwargs)
