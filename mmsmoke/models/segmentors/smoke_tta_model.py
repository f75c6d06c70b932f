"""Test-time augmentation that merges smoke probabilities and maps."""
from typing import List

import torch
from mmengine.structures import PixelData
from torch import Tensor

from mmseg.models.segmentors import SegTTAModel
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import SampleList


@MODELS.register_module()
class SmokeTTAModel(SegTTAModel):
    """``SegTTAModel`` that is right for one sigmoid channel.

    ``tools/test.py --tta`` wraps the segmentor in the config's
    ``tta_model`` and runs it on every view of ``tta_pipeline`` (scales,
    flips). Each view's prediction is already un-flipped and resized to the
    original image by the segmentor. MMSeg's ``SegTTAModel`` then merges
    them, with three problems for smoke models:

    * one channel: ``seg_logits`` already holds ``sigmoid(logit)`` after
      post-processing, and ``SegTTAModel`` applies the sigmoid again, so
      every probability lands in [0.5, 0.73] and the whole image is smoke
      at a threshold of 0.5;
    * the merged sample keeps the last view's ``seg_logits``, so metrics
      that read probabilities (``SmokeMetric``'s Fβ, MAE and ECE) score one
      view, not the merge;
    * other maps (Trans-BVM's uncertainty, FoSp's separation maps) come from
      the last view as well.

    Here the probabilities of the views are averaged (one channel: as they
    are; more channels: softmax), the mask is re-thresholded with the
    decode head's ``threshold`` (arg-max for softmax heads), ``seg_logits``
    holds the mean probability (one channel) or its logarithm (softmax, so
    a softmax of it gives the mean back), and every other pixel field at
    the size of the prediction is averaged over the views. Averaging keeps
    ``epistemic = total - aleatoric`` and ``aleatoric <= total`` of the
    uncertainty maps, since both are linear. Ground truth and meta
    information come from the first view.

    Args:
        module (dict | nn.Module): The segmentor.
        data_preprocessor (dict, optional): As ``BaseTTAModel``.
    """

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        """Merge the views of each image into one prediction.

        Args:
            data_samples_list (list[list[SegDataSample]]): For each image,
                the predictions of its views.

        Returns:
            list[SegDataSample]: One merged prediction per image.
        """
        return [self._merge(views) for views in data_samples_list]

    def _merge(self, views: SampleList) -> SegDataSample:
        first = views[0]
        channels = first.seg_logits.data.shape[0]
        probs = torch.stack([self._probabilities(v) for v in views]).mean(0)
        merged = SegDataSample(metainfo=first.metainfo)
        if channels == 1:
            threshold = self.module.decode_head.threshold
            pred = (probs > threshold).to(probs)
            merged.seg_logits = PixelData(data=probs)
        else:
            pred = probs.argmax(dim=0, keepdim=True)
            merged.seg_logits = PixelData(
                data=probs.clamp(min=torch.finfo(probs.dtype).tiny).log())
        merged.pred_sem_seg = PixelData(data=pred)
        if 'gt_sem_seg' in first:
            merged.gt_sem_seg = first.gt_sem_seg
        size = probs.shape[-2:]
        skip = {'seg_logits', 'pred_sem_seg', 'gt_sem_seg'}
        for key in first.keys():
            value = first.get(key)
            if key in skip or not isinstance(value, PixelData):
                continue
            maps = [v.get(key) for v in views]
            if any(m is None or m.data.shape != value.data.shape
                   for m in maps) or value.data.shape[-2:] != size:
                raise ValueError(
                    f'SmokeTTAModel: the field {key} of '
                    f'{first.metainfo.get("img_path", "an image")} differs '
                    'in shape between the views or from the prediction')
            merged.set_data({
                key:
                PixelData(
                    data=torch.stack([m.data.float() for m in maps]).mean(0))
            })
        return merged

    @staticmethod
    def _probabilities(view: SegDataSample) -> Tensor:
        data = view.seg_logits.data.float()
        if data.shape[0] == 1:
            return data  # the segmentor applied the sigmoid already
        return data.softmax(dim=0)
