"""``MMSegInferencer`` for mmsmoke configs."""
import copy
import warnings
from pathlib import Path
from typing import List, Optional, Union

import numpy as np
import torch.nn as nn
from mmcv.transforms import Compose
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from mmseg.apis import MMSegInferencer
from mmseg.registry import TRANSFORMS
from mmseg.utils import ConfigType

from mmsmoke.datasets.base_smoke_dataset import SMOKE_METAINFO
from .inference import inference_pipeline_cfg


def _input_to_results(single_input: Union[str, Path, np.ndarray]) -> dict:
    """First step of the inferencer pipeline: raw input to a results dict.
    """
    if isinstance(single_input, dict):
        return dict(single_input)
    if isinstance(single_input, np.ndarray):
        return dict(img=single_input, img_path=None)
    if isinstance(single_input, (str, Path)):
        return dict(img_path=str(single_input))
    raise TypeError('SmokeInferencer: expected an image path or a numpy '
                    f'array, got {type(single_input).__name__}')


class SmokeInferencer(MMSegInferencer):
    """MMSeg's inferencer with mmsmoke's loaders and smoke class meta.

    ``MMSegInferencer`` itself works with the configs in ``configs/``: their
    test pipelines name the stock ``LoadImageFromFile``, which it looks for
    (smoke datasets run it as ``LoadSmokeImageFromFile``). It then decodes
    inputs with mmcv's loader, and without class meta in the checkpoint it
    draws with Cityscapes' classes. This subclass builds the pipeline with
    :func:`mmsmoke.apis.inference.inference_pipeline_cfg` instead (paths and
    BGR arrays both go through ``LoadSmokeImageFromFile``, with its
    conversions and errors; annotation loaders are dropped; a test pipeline
    naming only mmsmoke's loader is accepted) and, when the checkpoint
    carries no class meta (or there is no checkpoint), uses the smoke
    dataset's classes and palette. Everything else (arguments, batching,
    ``out_dir`` with ``vis/`` and ``pred/``, ``return_datasamples``) is
    MMSeg's.

    Example::

        inferencer = SmokeInferencer(
            'configs/segformer/segformer_mit-b0_1xb4-800_synthetic-256x256.py',
            weights='work_dirs/.../iter_800.pth', device='cpu')
        result = inferencer('frame.jpg', out_dir='outputs')

    Args:
        model (str | dict | Config): Config file or config.
        weights (str, optional): Checkpoint file.
        classes (list, optional): Class names for drawing.
        palette (list, optional): Class colours for drawing.
        dataset_name (str, optional): MMSeg dataset name for the meta.
        device (str, optional): Device; None picks one automatically.
        scope (str, optional): Registry scope. Defaults to 'mmseg'.
    """

    def __init__(self,
                 model: Union[ConfigType, str],
                 weights: Optional[str] = None,
                 classes: Optional[Union[str, List]] = None,
                 palette: Optional[Union[str, List]] = None,
                 dataset_name: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: Optional[str] = 'mmseg') -> None:
        if isinstance(model, Path):
            model = str(model)
        super().__init__(
            model=model,
            weights=weights,
            classes=classes,
            palette=palette,
            dataset_name=dataset_name,
            device=device,
            scope=scope)
        if classes is None and palette is None and dataset_name is None:
            meta = self.model.dataset_meta
            self.visualizer.set_dataset_meta(meta['classes'], meta['palette'])

    def _init_pipeline(self, cfg: ConfigType) -> Compose:
        """Inference pipeline: input to dict, then the adapted test pipeline.

        Args:
            cfg (Config): Model config.

        Returns:
            Compose: Pipeline taking a path or an array.
        """
        transforms = [TRANSFORMS.build(t) for t in inference_pipeline_cfg(cfg)]
        return Compose([_input_to_results] + transforms)

    def _load_weights_to_model(self, model: nn.Module,
                               checkpoint: Optional[dict],
                               cfg: Optional[ConfigType]) -> None:
        """Load weights; class meta from the checkpoint, else smoke meta.

        Args:
            model (nn.Module): Model.
            checkpoint (dict, optional): Loaded checkpoint.
            cfg (Config, optional): Config.
        """
        meta = None
        if checkpoint is not None:
            _load_checkpoint_to_model(model, checkpoint)
            meta = checkpoint.get('meta', {}).get('dataset_meta')
        else:
            warnings.warn('SmokeInferencer: no weights given; the model is '
                          'randomly initialised')
        if not meta or not meta.get('classes'):
            meta = copy.deepcopy(SMOKE_METAINFO)
        model.dataset_meta = {
            'classes': meta.get('classes'),
            'palette': meta.get('palette')
        }
