"""Shared pytest set-up: MMSeg's default scope and mmsmoke registration."""
import os
from pathlib import Path

import pytest

#: Real data lives beside the checkout (../shared/data); tests that use it
#: skip when it is absent.
SHARED_DATA = Path(
    os.environ.get('MMSMOKE_SHARED_DATA',
                   Path(__file__).resolve().parents[1].parent / 'shared' /
                   'data'))


@pytest.fixture(scope='session', autouse=True)
def mmseg_scope():
    from mmseg.utils import register_all_modules

    import mmsmoke  # noqa: F401
    register_all_modules(init_default_scope=True)
    yield


@pytest.fixture(scope='session')
def shared_data() -> Path:
    return SHARED_DATA


@pytest.fixture(scope='session')
def tiny_synthetic(tmp_path_factory) -> Path:
    """A tiny synthetic smoke set (SMOKE5K layout, 64x64) for tool tests."""
    from mmsmoke.datasets.synthetic import generate_dataset
    root = tmp_path_factory.mktemp('synthetic') / 'smoke5k'
    generate_dataset(
        str(root), layout='smoke5k', num_train=16, num_test=8,
        img_size=(64, 64), seed=0)
    return root
