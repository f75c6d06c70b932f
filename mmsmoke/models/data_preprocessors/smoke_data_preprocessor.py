"""Data pre-processor whose model can read the RGB image of its input."""
from typing import Any, Dict

import torch
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import Tensor


@MODELS.register_module()
class SmokeDataPreProcessor(SegDataPreProcessor):
    """:class:`SegDataPreProcessor` that also inverts its normalisation.

    FoSp's separation module and the transmission losses of
    Transmission-BVM model image formation (``I = (1 - a) B + a S``, the
    dark channel prior), so they need the RGB image in [0, 1], not the
    normalised network input. The segmentor takes it from the batch inputs
    with :meth:`images_from_inputs`, the same way in training, testing,
    tensor mode and ONNX export, so ``batch_augments`` work: the image is
    that of the augmented input.

    The network inputs, their padding and the metainfo are exactly those of
    :class:`SegDataPreProcessor` with the same arguments (its ``forward``
    runs unchanged), so the two can be exchanged in any config whose model
    does not need the image. A padded pixel of the input gives the colour
    it stands for, ``(mean + pad_val * std) / 255`` per channel (its label
    is ``seg_pad_val``, i.e. ignored).

    Args:
        **kwargs: :class:`SegDataPreProcessor` arguments (``mean``,
            ``std``, ``bgr_to_rgb``, ``size``, ``size_divisor``,
            ``pad_val``, ``seg_pad_val``, ``batch_augments``,
            ``test_cfg``).
    """

    def images_from_inputs(self, inputs: Tensor) -> Tensor:
        """RGB image in [0, 1] of a normalised batch (N, 3, H, W).

        ``x * std + mean`` (when the pre-processor normalises), in RGB
        order, over 255, without gradient. In float32 it equals the loaded
        pixels over 255 to about 1e-7.
        """
        with torch.no_grad():
            img = inputs.detach()
            if self._enable_normalize:
                img = img * self.std.to(img) + self.mean.to(img)
            if img.shape[1] == 3 and not self.channel_conversion:
                img = img.flip(1)  # still in the BGR order mmcv loads
            return (img / 255.0).clamp_(0.0, 1.0)

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        """:meth:`SegDataPreProcessor.forward`, with two cases the stock one
        fails on: a test batch of images of several sizes is refused with a
        clear error (the stock one fails in ``torch.stack``), and a test
        batch without data samples (bare images) is padded too."""
        inputs = data['inputs']
        if not training and isinstance(
                inputs, (list, tuple)) and len(
                    {tuple(x.shape[1:])
                     for x in inputs}) > 1:
            raise ValueError(
                'SmokeDataPreProcessor: the images of a test batch must '
                'have one size; use batch_size=1 for the test loader or '
                'resize in the test pipeline')
        if training or data.get('data_samples') is not None:
            return super().forward(data, training)
        out = super().forward(
            dict(data, data_samples=[SegDataSample() for _ in inputs]),
            training)
        return dict(inputs=out['inputs'], data_samples=None)
