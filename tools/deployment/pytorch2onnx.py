"""Export a segmentor to ONNX and check it with onnxruntime.

The graph is the whole-image forward at a fixed size, from the normalised
input to the logits at the input size; Transmission-BVM models add their
sampling-free uncertainty maps and FoSp models their focus and separation
maps (see ``mmsmoke/deployment/export_wrapper.py``). The pre-processing
(mean, std, channel order) and the threshold are stored in the model's
metadata under ``mmsmoke``.

Example::

    python tools/deployment/pytorch2onnx.py \\
        configs/transbvm/transbvm_mit-b0_1xb4-2k_synthetic-256x256.py \\
        work_dirs/transbvm_mit-b0_1xb4-2k_synthetic-256x256/iter_2000.pth \\
        --shape 256 256 --out transbvm.onnx --verify

Without CHECKPOINT the model keeps its random initial weights (useful to
check that a config exports). Exit status 1 when ``--verify`` finds a
difference beyond the tolerances.
"""
import argparse
import sys

import torch
from mmengine.config import DictAction
from mmengine.logging import print_log


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a segmentor to ONNX (whole-image forward)')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        'checkpoint', nargs='?', default=None, help='checkpoint file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        required=True,
        metavar=('H', 'W'),
        help='input height and width of the graph')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument(
        '--batch-size', type=int, default=1, help='batch size of the graph')
    parser.add_argument(
        '--opset',
        type=int,
        default=18,
        help='ONNX opset (>= 13; FoSp needs >= 18 for its antialiased '
        'resizes)')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='compare onnxruntime with PyTorch on a random input')
    parser.add_argument(
        '--atol', type=float, default=1e-4, help='absolute tolerance')
    parser.add_argument(
        '--rtol', type=float, default=1e-3, help='relative tolerance')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the check input')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    from mmsmoke.apis import build_model
    from mmsmoke.deployment import export_onnx, verify_onnx

    if args.checkpoint is None:
        print_log(
            'No checkpoint: exporting the randomly initialised model.',
            logger='current')
    # mmengine checkpoints and bare state dicts alike, loaded strictly
    model = build_model(
        args.config,
        args.checkpoint,
        'cpu',
        cfg_options=args.cfg_options,
        strict=True)
    names = export_onnx(
        model,
        args.out,
        shape=tuple(args.shape),
        batch_size=args.batch_size,
        opset=args.opset)
    print(f'exported {args.out} (opset {args.opset}, input "input" '
          f'{[args.batch_size, 3] + list(args.shape)}, outputs {names})')
    if not args.verify:
        return 0
    gen = torch.Generator().manual_seed(args.seed)
    inputs = torch.randn(args.batch_size, 3, *args.shape, generator=gen)
    try:
        diffs = verify_onnx(
            model, args.out, inputs, atol=args.atol, rtol=args.rtol)
    except AssertionError as err:
        print(f'onnxruntime check FAILED: {err}')
        return 1
    for name, diff in diffs.items():
        print(f'onnxruntime check {name}: max |diff| = {diff:.3g}')
    print(f'onnxruntime check passed (atol {args.atol}, rtol {args.rtol})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
