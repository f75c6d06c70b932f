"""The ``params_flops`` suite: parameters and FLOPs of every model config.

Every config under ``configs/`` (``_base_`` excluded) is built without
pretrained weights; parameters (millions, per component in the details)
and FLOPs of one ``mode='tensor'`` pass of one image (default 512x512)
come from ``fosp_complexity.py``.
"""
import argparse
import glob
import os
import os.path as osp
from typing import List

import fosp_complexity as complexity
from mmsmoke.apis import build_model
from ..core import REPO, log, make_row, selected
from ..measure import release

NAME = 'params_flops'
IN_ALL = True
TITLE = 'Parameters and FLOPs'
TEXT = ('Parameters (millions) and FLOPs (G multiply-adds of one '
        '`mode="tensor"` pass of one image, counted by mmengine\'s '
        '`FlopAnalyzer`; element-wise operators and interpolation are not '
        'counted) of every model config in `configs/`.')


def settings(args: argparse.Namespace) -> dict:
    return dict(size=args.size or 512)


def model_configs() -> List[str]:
    """Every model config under ``configs/`` (``_base_`` excluded)."""
    paths = glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    rel = sorted(osp.relpath(p, REPO) for p in paths)
    return [p for p in rel if '_base_' not in p.split(os.sep)]


def run(args: argparse.Namespace, ctx: dict) -> List[dict]:
    """Parameters and FLOPs of every model config."""
    size = args.size or 512
    rows = []
    for config in selected(model_configs(), args.match):
        log(f'params_flops: {config}')
        name = osp.splitext(osp.basename(config))[0]
        model = build_model(config, device='cpu')
        params = complexity.count_params(model)
        rows.append(
            make_row(
                NAME,
                name,
                'parameters',
                params['total'],
                'M',
                ctx,
                settings=dict(),
                details=dict(
                    config=config,
                    **{
                        f'{k}_M': v
                        for k, v in params.items() if k != 'total'
                    })))
        note = None
        try:
            total, parts = complexity.count_flops(model, (size, size))
            total_g = total / 1e9
            details = {f'{k}_G': v / 1e9 for k, v in parts.items()}
        except Exception as err:  # noqa: BLE001 (recorded in the row)
            total_g, details = None, {}
            note = f'FLOP count failed: {type(err).__name__}: {err}'
        rows.append(
            make_row(
                NAME,
                name,
                'FLOPs',
                total_g,
                'G',
                ctx,
                note=note,
                settings=dict(size=f'{size}x{size}', batch=1),
                details=dict(config=config, **details)))
        del model
        release()
    return rows
