"""Parameters and FLOPs of FoSp models (or any segmentor), per component.

Builds each config's model (no pretrained weights are loaded), counts the
parameters of the backbone, the Focus neck, the Separation module and the
Domain Fusion head, and, unless ``--no-flops``, counts FLOPs of one
``mode='tensor'`` forward pass of one image (backbone, neck, separation
and head; the separation runs at its ``work_scale``) with mmengine's
``FlopAnalyzer`` (the counter behind ``get_model_complexity_info``), in
total and per component. As in MMSeg's ``get_flops.py``, one multiply-add
counts as one FLOP; element-wise operators, softmax and interpolation are
not counted. The benchmark suites (``benchmarks/``) import
``count_params`` and ``count_flops`` from here; models are built with
:func:`mmsmoke.apis.build_model`.

Example::

    python tools/analysis_tools/fosp_complexity.py \\
        configs/fosp/fosp_r50_4xb2-40k_smokeseg-512x512.py \\
        configs/fosp/fosp_mit-b3_1xb6-40k_smokeseg-512x512.py \\
        --shape 512 512
"""
import argparse
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.analysis import FlopAnalyzer

from mmsmoke.apis import build_model

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


def count_flops(
    model: torch.nn.Module,
    shape: Sequence[int],
    device: Optional[Union[str, torch.device]] = None
) -> Tuple[float, Dict[str, float]]:
    """FLOPs (multiply-adds) of one ``mode='tensor'`` pass of one image.

    Args:
        model (torch.nn.Module): The segmentor (put in eval mode here).
        shape (Sequence[int]): Input ``(H, W)``.
        device (str | torch.device, optional): Device of the input;
            defaults to the model's.

    Returns:
        tuple[float, dict[str, float]]: Total FLOPs and FLOPs of each
        component of ``PARTS`` that the model has.
    """
    if device is None:
        device = next(model.parameters()).device
    model.eval()
    inputs = torch.randn(1, 3, *shape, device=device)
    with torch.no_grad():
        analyzer = FlopAnalyzer(model, (inputs, ))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        total = analyzer.total()
        by_module = analyzer.by_module()
    return float(total), {
        name: float(by_module[name])
        for name in PARTS if name in by_module
    }


def main() -> None:
    args = parse_args()
    for path in args.configs:
        model = build_model(path, device='cpu')
        params = count_params(model)
        line = ', '.join(f'{k} {v:.2f} M' for k, v in params.items())
        print(f'{path}\n  params: {line}')
        if args.no_flops:
            continue
        total, by_part = count_flops(model, args.shape)
        parts = ', '.join(f'{name} {value / 1e9:.2f} G'
                          for name, value in by_part.items())
        print(f'  FLOPs ({args.shape[0]}x{args.shape[1]}, one image, '
              f'multiply-adds): total {total / 1e9:.2f} G, {parts}')


if __name__ == '__main__':
    main()
