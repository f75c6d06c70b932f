"""Build a smoke segmentor from a config and run it on images or frames.

MMSeg's ``init_model``/``inference_model`` also work with mmsmoke configs
(``LoadSmokeAnnotations`` lets inference inputs pass), but they fall back
to Cityscapes class names without a checkpoint, default to ``cuda:0`` and
rewrite ``model.cfg.test_pipeline`` in place for array inputs. These
versions keep the config untouched, load paths and arrays through
``LoadSmokeImageFromFile`` (same grey/RGBA/16-bit conversions as training),
default to the smoke dataset meta and pick the device automatically.
"""
import copy
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmcv.transforms import Compose
from mmengine.config import Config, ConfigDict
from mmengine.dist import is_distributed
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.registry import MODELS, TRANSFORMS
from mmseg.structures import SegDataSample

from mmsmoke.datasets.base_smoke_dataset import SMOKE_METAINFO
from mmsmoke.datasets.transforms.pipeline_check import transform_type_name

ImageInput = Union[str, Path, np.ndarray]

#: Image loaders replaced by ``LoadSmokeImageFromFile`` for inference.
IMAGE_LOADERS = ('LoadImageFromFile', 'LoadSmokeImageFromFile',
                 'LoadImageFromNDArray', 'InferencerLoader')
#: Annotation loaders dropped for inference.
ANNOTATION_LOADERS = ('LoadAnnotations', 'LoadSmokeAnnotations',
                      'LoadDepthAnnotation')

_PIPELINE_ATTR = '_smoke_inference_pipeline'


def default_device() -> str:
    """``'cuda'`` when a GPU is visible, else ``'cpu'``."""
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def inference_pipeline_cfg(cfg: Config) -> List[dict]:
    """The test pipeline of a config, adapted to inputs without masks.

    Annotation loaders (:data:`ANNOTATION_LOADERS`) are removed and the
    image loader (:data:`IMAGE_LOADERS`) becomes ``LoadSmokeImageFromFile``,
    which reads a path or converts an in-memory array. The config is not
    modified.

    Args:
        cfg (Config): Model config with ``test_pipeline`` or
            ``test_dataloader.dataset.pipeline``.

    Returns:
        list[dict]: Transform configs.
    """
    source = getattr(cfg, 'filename', None) or '<config>'
    pipeline = cfg.get('test_pipeline')
    if pipeline is None:
        try:
            pipeline = cfg.test_dataloader.dataset.pipeline
        except AttributeError:
            pipeline = None
    if not pipeline:
        raise KeyError(f'{source}: no test_pipeline and no '
                       'test_dataloader.dataset.pipeline to build the '
                       'inference pipeline from')
    out = []
    found_loader = False
    for transform in copy.deepcopy(list(pipeline)):
        transform = dict(transform)
        name = transform_type_name(transform.get('type'))
        if name in ANNOTATION_LOADERS:
            continue
        if name in IMAGE_LOADERS:
            if found_loader:
                raise ValueError(f'{source}: the test pipeline loads the '
                                 'image twice')
            found_loader = True
            loader = dict(type='LoadSmokeImageFromFile')
            if transform.get('backend_args') is not None:
                loader['backend_args'] = transform['backend_args']
            if transform.get('to_float32'):
                loader['to_float32'] = True
            transform = loader
        out.append(transform)
    if not found_loader:
        raise ValueError(f'{source}: the test pipeline has no image loader '
                         f'(one of {IMAGE_LOADERS})')
    if out[0].get('type') != 'LoadSmokeImageFromFile':
        raise ValueError(f'{source}: the image loader must be the first '
                         'transform of the test pipeline')
    return out


def build_inference_pipeline(cfg: Config) -> Compose:
    """Build :func:`inference_pipeline_cfg` with MMSeg's registry."""
    return Compose([TRANSFORMS.build(t) for t in inference_pipeline_cfg(cfg)])


def load_config(config: Union[str, Path, Config],
                cfg_options: Optional[dict] = None) -> Config:
    """A copy of a config (file or object) with ``cfg_options`` merged.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The config defines no ``model``.
    """
    if isinstance(config, (str, Path)):
        if not Path(config).is_file():
            raise FileNotFoundError(f'{config}: config file not found')
        config = Config.fromfile(str(config))
    elif isinstance(config, Config):
        config = copy.deepcopy(config)
    else:
        raise TypeError('config must be a file name or a Config, got '
                        f'{type(config).__name__}')
    if cfg_options:
        config.merge_from_dict(cfg_options)
    if 'model' not in config:
        source = getattr(config, 'filename', None) or '<config>'
        raise ValueError(f'{source}: the config defines no `model`')
    return config


def offline_config(config: Union[str, Path, Config],
                   cfg_options: Optional[dict] = None) -> Config:
    """:func:`load_config` with every pretrained source of the model
    switched off (``model.pretrained`` and the backbone's ``init_cfg`` set
    to None), so building and initialising it reads nothing from a network
    or a weights package."""
    config = load_config(config, cfg_options)
    config.model.pretrained = None
    backbone = config.model.get('backbone')
    if isinstance(backbone, (dict, ConfigDict)) and 'init_cfg' in backbone:
        backbone.init_cfg = None
    return config


def build_model(config: Union[str, Path, Config],
                checkpoint: Optional[str] = None,
                device: Optional[Union[str, torch.device]] = None,
                cfg_options: Optional[dict] = None,
                init_weights: bool = False,
                strict: bool = False) -> nn.Module:
    """Build a config's segmentor offline and load its weights, if given.

    The one way the package, its tools and its tests build a model:

    * every pretrained source of the config is switched off
      (:func:`offline_config`): the weights come from ``checkpoint``, or
      are the random initialisation;
    * SyncBN layers become BN unless a process group is initialised (as
      the runner does for a one-process run), so the model runs on one
      device of any kind;
    * ``init_weights=True`` runs the model's ``init_weights`` (what a
      training run does before its first step, pretrained sources off);
    * the model comes back in eval mode on ``device``, with ``cfg`` (the
      config used) and ``dataset_meta`` (the checkpoint's, else the smoke
      dataset's).

    Args:
        config (str | Path | Config): Config file or object (not
            modified).
        checkpoint (str, optional): Checkpoint file, or any URL mmengine's
            ``load_checkpoint`` reads (``https://``, ``s3://`` ...).
            Defaults to None.
        device (str | torch.device, optional): Device; None picks
            :func:`default_device`.
        cfg_options (dict, optional): Config overrides (``key.sub=value``).
        init_weights (bool): Run ``init_weights`` after building. Defaults
            to False.
        strict (bool): Load the checkpoint strictly. Defaults to False.

    Returns:
        nn.Module: The segmentor.

    Raises:
        FileNotFoundError: The config or the checkpoint does not exist.
        RuntimeError: A strict load found keys that do not fit (the error
            names the checkpoint and the config).
    """
    config = offline_config(config, cfg_options)
    init_default_scope(config.get('default_scope', 'mmseg'))
    model = MODELS.build(config.model)
    if not is_distributed():
        model = revert_sync_batchnorm(model)
    if init_weights:
        model.init_weights()
    dataset_meta = None
    if checkpoint is not None:
        if '://' not in checkpoint and not Path(checkpoint).is_file():
            raise FileNotFoundError(f'{checkpoint}: checkpoint not found')
        source = getattr(config, 'filename', None) or '<config>'
        try:
            ckpt = load_checkpoint(
                model, checkpoint, map_location='cpu', strict=strict)
        except RuntimeError as err:
            raise RuntimeError(f'{checkpoint} does not fit {source}: '
                               f'{err}') from err
        dataset_meta = (ckpt.get('meta') or {}).get('dataset_meta')
    if not dataset_meta or not dataset_meta.get('classes'):
        dataset_meta = copy.deepcopy(SMOKE_METAINFO)
    model.dataset_meta = dict(dataset_meta)
    model.cfg = config
    model.to(device or default_device())
    model.eval()
    return model


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: Optional[str] = None,
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a segmentor for inference and load its weights.

    :func:`build_model` without the config's ``train_cfg``, under the name
    and signature of MMSeg's ``init_model``.

    Args:
        config (str | Path | Config): Config file or object.
        checkpoint (str, optional): Checkpoint file; None keeps the random
            initialisation (for tests).
        device (str, optional): Device; None picks :func:`default_device`.
        cfg_options (dict, optional): Config overrides (``key.sub=value``).

    Returns:
        nn.Module: The segmentor in eval mode, with ``cfg`` (the config)
        and ``dataset_meta`` (the checkpoint's, else the smoke dataset's).
    """
    config = load_config(config, cfg_options)
    config.model.train_cfg = None
    return build_model(config, checkpoint, device)


def _as_input_dict(item: ImageInput, index: int) -> dict:
    if isinstance(item, np.ndarray):
        return dict(img=item, img_path=None)
    if isinstance(item, (str, Path)):
        return dict(img_path=str(item))
    raise TypeError(f'input {index}: expected an image path or a numpy '
                    f'array, got {type(item).__name__}')


def inference_model(
    model: nn.Module, img: Union[ImageInput, Sequence[ImageInput]]
) -> Union[SegDataSample, List[SegDataSample]]:
    """Run a segmentor on image files or in-memory images.

    Arrays are BGR (as ``cv2.imread`` and ``cv2.VideoCapture`` return them),
    8- or 16-bit, grey, BGR or BGRA. The inference pipeline is built once
    per model from ``model.cfg`` (see :func:`inference_pipeline_cfg`). A
    list is run as one batch when its images have the same size after the
    pipeline, else image by image.

    Args:
        model (nn.Module): Segmentor from :func:`init_model` (or any model
            with ``cfg``).
        img (str | Path | np.ndarray | Sequence): One input or a list.

    Returns:
        SegDataSample | list[SegDataSample]: Predictions at the original
        image size (``seg_logits``, ``pred_sem_seg`` and the model's extra
        maps); a list when a list was given.
    """
    if not hasattr(model, 'cfg'):
        raise AttributeError('the model has no cfg; build it with '
                             'mmsmoke.apis.init_model')
    pipeline = getattr(model, _PIPELINE_ATTR, None)
    if pipeline is None:
        pipeline = build_inference_pipeline(model.cfg)
        setattr(model, _PIPELINE_ATTR, pipeline)
    is_batch = isinstance(img, (list, tuple))
    items = list(img) if is_batch else [img]
    if not items:
        return []
    inputs, samples = [], []
    for index, item in enumerate(items):
        packed = pipeline(_as_input_dict(item, index))
        inputs.append(packed['inputs'])
        samples.append(packed['data_samples'])
    # MMSeg's pre-processor stacks a test batch only when every image has
    # the same size after the pipeline; otherwise run them one by one.
    if all(x.shape == inputs[0].shape for x in inputs):
        batches = [(inputs, samples)]
    else:
        batches = [([x], [s]) for x, s in zip(inputs, samples)]
    results: List[SegDataSample] = []
    with torch.no_grad():
        for batch_inputs, batch_samples in batches:
            results.extend(
                model.test_step(
                    dict(inputs=batch_inputs, data_samples=batch_samples)))
    return results if is_batch else results[0]


def model_threshold(model: nn.Module) -> float:
    """The probability threshold the model's masks use.

    Single-channel (sigmoid) heads use their ``threshold``; two-channel
    (softmax) heads predict smoke above 0.5.

    Args:
        model (nn.Module): Segmentor.

    Returns:
        float: Threshold in [0, 1).
    """
    head = getattr(model, 'decode_head', None)
    if isinstance(head, nn.ModuleList):
        head = head[-1]
    if head is not None and getattr(head, 'out_channels', None) == 1:
        threshold = getattr(head, 'threshold', None)
        if threshold is not None:
            return float(threshold)
    return 0.5
