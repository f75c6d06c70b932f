"""Golden outputs: every shipped config still computes what it computed.

For every config under ``configs/`` the model is built offline from a fixed
seed, trained for one SGD step on a tiny deterministic CPU batch (2 images,
64x64) and asked for a prediction; the loss dicts before and after the step
and summaries of ``seg_logits`` and every ``pred_*`` map (FoSp's focus,
alpha, foreground and background, Trans-BVM's uncertainty maps) are
compared with ``golden_outputs.json``. The procedure, the input and what is
recorded are described in ``tests/test_golden/record_golden_outputs.py``, which
this test imports so that both run exactly the same code.

The procedure runs in float64, so the values do not depend on which
kernels oneDNN and MKL pick on a CPU (AVX2, AVX-512, SSE4) or on the
number of threads; the test runs at whatever thread count the suite runs
at. Every value matches exactly or to a relative 1e-8 (absolute 1e-12,
1e-15 for loss values, some of which are about 1e-5 themselves); shapes,
dtypes, loss names and map names must match exactly. The measured spread
across CPUs and thread counts, and a check that the test still catches a
one-line change of a loss or a head, are in docs/reliability.md.

A deliberate change of outputs must say so in its commit and re-record
with ``tests/test_golden/record_golden_outputs.py`` (``--configs`` re-records only
the named configs); a refactoring must pass unchanged. Another torch
version may change values beyond the tolerance (other algorithms, not
other kernels); then check that the differences are tiny and rerun the
recorder deliberately.
"""
import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

GOLDEN_FILE = Path(__file__).with_name('golden_outputs.json')
RECORDER_FILE = Path(__file__).with_name('record_golden_outputs.py')


def _load_recorder():
    spec = importlib.util.spec_from_file_location('record_golden_outputs',
                                                  RECORDER_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


recorder = _load_recorder()
GOLDEN = json.loads(GOLDEN_FILE.read_text())
CONFIGS = recorder.config_paths()


def _id(path: str) -> str:
    return path[len('configs/'):-len('.py')]


@pytest.fixture(autouse=True, scope='module')
def _registered():
    recorder.register()


def _close(expected: float, actual: float, abs_tol: float) -> bool:
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    return abs(actual - expected) <= max(recorder.REL_TOL * abs(expected),
                                         abs_tol)


def _differences(expected, actual, where: str = '') -> list:
    """Every difference between two records, as readable lines."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            sub = f'{where}.{key}' if where else str(key)
            if key not in actual:
                out.append(f'{sub}: missing (recorded {expected[key]!r})')
            elif key not in expected:
                out.append(f'{sub}: new (not recorded), {actual[key]!r}')
            else:
                out.extend(_differences(expected[key], actual[key], sub))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f'{where}: {len(actual)} items, recorded {len(expected)}']
        out = []
        for i, (e, a) in enumerate(zip(expected, actual)):
            out.extend(_differences(e, a, f'{where}[{i}]'))
        return out
    floats = (int, float)
    if (isinstance(expected, float) or isinstance(actual, float)) and \
            isinstance(expected, floats) and isinstance(actual, floats) and \
            not isinstance(expected, bool) and not isinstance(actual, bool):
        abs_tol = recorder.LOSS_ABS_TOL if where.startswith('loss_') \
            else recorder.ABS_TOL
        if _close(float(expected), float(actual), abs_tol):
            return []
        rel = abs(actual - expected) / max(abs(expected), 1e-30)
        return [f'{where}: {actual!r}, recorded {expected!r} (rel {rel:.2e})']
    if type(expected) is not type(actual) or expected != actual:
        return [f'{where}: {actual!r}, recorded {expected!r}']
    return []


def test_golden_values_cover_exactly_the_shipped_configs():
    recorded = set(GOLDEN['configs'])
    shipped = set(CONFIGS)
    assert len(shipped) >= 29
    assert sorted(shipped - recorded) == [], \
        'configs without golden values: record them with ' \
        'tests/test_golden/record_golden_outputs.py --configs ...'
    assert sorted(recorded - shipped) == [], \
        'golden values of configs that no longer exist: rerun ' \
        'tests/test_golden/record_golden_outputs.py'


def test_tolerances_are_the_recorded_ones():
    meta = GOLDEN['meta']
    assert meta['dtype'] == 'float64'
    assert meta['rel_tol'] == recorder.REL_TOL == 1e-8
    assert meta['abs_tol'] == recorder.ABS_TOL == 1e-12
    assert meta['loss_abs_tol'] == recorder.LOSS_ABS_TOL == 1e-15


def test_the_procedure_leaves_the_default_dtype_alone():
    before = torch.get_default_dtype()
    with recorder.golden_dtype():
        assert torch.get_default_dtype() == torch.float64
    assert torch.get_default_dtype() == before


@pytest.mark.parametrize('path', CONFIGS, ids=_id)
def test_golden_outputs(path):
    if path not in GOLDEN['configs']:
        pytest.fail(f'{path}: no golden values; record them with '
                    f'tests/test_golden/record_golden_outputs.py --configs {path}')
    fresh = recorder.run_config(path)
    # the model tests the way its config says ('whole' or 'slide')
    assert fresh['test_mode'] == fresh['config_test_mode']
    expected = GOLDEN['configs'][path]
    diffs = _differences(expected, fresh)
    assert not diffs, (
        f'{path}: outputs differ from tests/test_golden/golden_outputs.json '
        '(a deliberate change re-records with '
        'tests/test_golden/record_golden_outputs.py and says so in its commit):\n' +
        '\n'.join(diffs[:40]) +
        (f'\n... and {len(diffs) - 40} more' if len(diffs) > 40 else ''))
