"""tools/test.py: the metric configs that --out writes into."""
import pytest


@pytest.fixture
def test_tool(load_tool):
    return load_tool('tools/test.py', 'test_tool')


def test_out_reaches_every_metric_of_the_evaluator(test_tool):
    one = dict(type='SmokeMetric')
    assert test_tool.evaluator_metrics(one) == [one]
    # SmokeMetric and FrameAlarmMetric side by side, as a list or in
    # mmengine's Evaluator dict
    pair = [dict(type='SmokeMetric'), dict(type='FrameAlarmMetric')]
    assert test_tool.evaluator_metrics(pair) == pair
    assert test_tool.evaluator_metrics(dict(type='Evaluator',
                                            metrics=pair)) == pair
    for metric in test_tool.evaluator_metrics(pair):
        metric['output_dir'] = 'out'
    assert [m['output_dir'] for m in pair] == ['out', 'out']
    with pytest.raises(SystemExit, match='not a metric config dict'):
        test_tool.evaluator_metrics(['SmokeMetric'])
