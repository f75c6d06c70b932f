"""SMOKE5K for the training suites: its folder and the squashed recipe.

The ``smoke5k`` suite, and the "before" run of ``early_smoke``, train on
SMOKE5K images squashed to a square crop: the dataset config
``configs/_base_/datasets/smoke5k.py`` (loaded with ``Config.fromfile``,
so with whatever it inherits) with its resizing replaced by
:func:`squash_transforms`.
"""
import copy
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

from .core import REPO, repo_path

#: The dataset config the squashed recipe starts from.
SMOKE5K_DATASET = 'configs/_base_/datasets/smoke5k.py'


def default_data_root() -> str:
    """``$MMSMOKE_SHARED_DATA``, else ``shared/data`` next to the checkout."""
    return os.environ.get('MMSMOKE_SHARED_DATA',
                          osp.abspath(osp.join(REPO, '..', 'shared', 'data')))


def smoke5k_root(data_root: str) -> str:
    """``<data_root>/SMOKE5K``, checked to hold {train,test}/{img,gt}."""
    root = osp.join(data_root, 'SMOKE5K')
    for sub in ('train/img', 'train/gt', 'test/img', 'test/gt'):
        if not osp.isdir(osp.join(root, sub)):
            raise FileNotFoundError(
                f'{osp.join(root, sub)}: SMOKE5K folder not found; set '
                '--data-root to the folder that holds SMOKE5K/')
    return root


def squash_transforms(crop: Tuple[int, int]) -> Dict[str, Optional[dict]]:
    """The squashed recipe: replacement of each transform type (None: drop).

    Training: random resize to ``crop`` x U(1, 2) without keeping the
    aspect ratio and a random ``crop`` crop (no class-ratio limit), no
    photometric distortion. Testing: resize to ``crop``, aspect ratio not
    kept.
    """
    return {
        'RandomResize':
        dict(
            type='RandomResize',
            scale=crop,
            ratio_range=(1.0, 2.0),
            keep_ratio=False),
        'RandomCrop':
        dict(type='RandomCrop', crop_size=crop),
        'PhotoMetricDistortion':
        None,
        'Resize':
        dict(type='Resize', scale=crop, keep_ratio=False),
    }


def _replace(pipeline: Sequence[dict], table: Dict[str, Optional[dict]]):
    out = []
    for transform in pipeline:
        new = table.get(transform['type'], transform)
        if new is not None:
            out.append(copy.deepcopy(new))
    return out


def _view_ratio(view: dict, test_resize: dict) -> float:
    """Scale of a ``--tta`` resize view relative to the test resize."""
    if 'scale' in view and 'scale' in test_resize:
        return view['scale'][0] / test_resize['scale'][0]
    return view.get('scale_factor', 1.0) / test_resize.get('scale_factor', 1.0)


def squash_recipe(crop: Tuple[int, int]):
    """The SMOKE5K dataset config with every image squashed to ``crop``.

    Args:
        crop (tuple[int, int]): The training crop and the test size.

    Returns:
        Config: :data:`SMOKE5K_DATASET` with the transforms of
        :func:`squash_transforms` in ``train_dataloader``,
        ``test_dataloader`` and ``tta_pipeline`` (each ``--tta`` view keeps
        its scale ratio to the test resize; ratio 1 is the test resize).
    """
    from mmengine.config import Config
    cfg = Config.fromfile(repo_path(SMOKE5K_DATASET))
    table = squash_transforms(crop)
    train = copy.deepcopy(cfg.train_dataloader)
    test = copy.deepcopy(cfg.test_dataloader)
    found = {t['type'] for t in train.dataset.pipeline}
    missing = [k for k in ('RandomResize', 'RandomCrop') if k not in found]
    resizes = [t for t in test.dataset.pipeline if t['type'] == 'Resize']
    if missing or not resizes:
        raise ValueError(f'{SMOKE5K_DATASET}: the squashed recipe replaces '
                         'RandomResize and RandomCrop in the train pipeline '
                         'and Resize in the test pipeline; missing '
                         f'{missing or ["Resize"]}')
    train.dataset.pipeline = _replace(train.dataset.pipeline, table)
    test.dataset.pipeline = _replace(test.dataset.pipeline, table)
    tta = copy.deepcopy(cfg.tta_pipeline)
    for transform in tta:
        for i, views in enumerate(transform.get('transforms', [])):
            if views and all(v['type'] == 'Resize' for v in views):
                ratios = [_view_ratio(v, resizes[0]) for v in views]
                transform['transforms'][i] = [
                    dict(
                        type='Resize',
                        scale=(int(crop[0] * r), int(crop[1] * r)),
                        keep_ratio=False) for r in ratios
                ]
    cfg.train_dataloader = train
    cfg.test_dataloader = test
    cfg.tta_pipeline = tta
    return cfg
