"""Parameters and FLOPs of FoSp models, per component.

Builds each config's model (no pretrained weights are loaded), counts the
parameters of the backbone, the Focus neck, the Separation module and the
Domain Fusion head, and, unless ``--no-flops``, counts FLOPs of one
``mode='tensor'`` forward pass of one image (backbone, neck, separation
and head; the separation runs at its ``work_scale``) with mmengine's
``FlopAnalyzer`` (the counter behind ``get_model_complexity_info``), in
total and per component. As in MMSeg's ``get_flops.py``, one multiply-add
counts as one FLOP; element-wise operators, softmax and interpolation are
not counted.

Example::

    python tools/analysis_tools/fosp_complexity.py \\
        configs/fosp/fosp_r50_4xb2-40k_smokeseg-512x512.py \\
        configs/fosp/fosp_mit-b3_1xb6-40k_smokeseg-512x512.py \\
        --shape 512 512
"""
import argparse
from typing import Dict

import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

# Register the FoSp modules even where the package exports lag behind.
import mmsmoke  # noqa: F401,E402
from mmsmoke.models.decode_heads import domain_fusion_head  # noqa: F401
from mmsmoke.models.necks import focus_neck  # noqa: F401
from mmsmoke.models.segmentors import fosp_encoder_decoder  # noqa: F401

PARTS = ('backbone', 'neck', 'separation', 'decode_head', 'auxiliary_head')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Parameters and FLOPs of FoSp configs')
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=[512, 512],
        metavar=('H', 'W'),
        help='input size (default 512 512)')
    parser.add_argument(
        '--no-flops', action='store_true', help='count parameters only')
    return parser.parse_args()


def count_params(model: torch.nn.Module) -> Dict[str, float]:
    """Parameters in millions, in total and per top-level component."""
    out = {'total': sum(p.numel() for p in model.parameters()) / 1e6}
    for name in PARTS:
        part = getattr(model, name, None)
        if isinstance(part, torch.nn.Module):
            out[name] = sum(p.numel() for p in part.parameters()) / 1e6
    return out


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=True)
    for path in args.configs:
        cfg = Config.fromfile(path)
        cfg.model.pretrained = None
        if 'init_cfg' in cfg.model.backbone:
            cfg.model.backbone.init_cfg = None
        model = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
        params = count_params(model)
        line = ', '.join(f'{k} {v:.2f} M' for k, v in params.items())
        print(f'{path}\n  params: {line}')
        if args.no_flops:
            continue
        inputs = torch.randn(1, 3, *args.shape)
        with torch.no_grad():
            analyzer = FlopAnalyzer(model, (inputs, ))
            analyzer.unsupported_ops_warnings(False)
            analyzer.uncalled_modules_warnings(False)
            total = analyzer.total()
            by_module = analyzer.by_module()
        parts = ', '.join(f'{name} {by_module[name] / 1e9:.2f} G'
                          for name in PARTS if name in by_module)
        print(f'  FLOPs ({args.shape[0]}x{args.shape[1]}, one image, '
              f'multiply-adds): total {total / 1e9:.2f} G, {parts}')


if __name__ == '__main__':
    main()
