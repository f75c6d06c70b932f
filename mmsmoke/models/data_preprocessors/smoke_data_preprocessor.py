"""Data pre-processor that also hands the [0, 1] RGB image to the model."""
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.structures import PixelData
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS
from mmseg.utils import SampleList, stack_batch
from torch import Tensor

#: Data-sample field that carries the RGB image in [0, 1], (3, H, W), at the
#: (padded) size of the network input.
IMAGE_FIELD = 'rgb_image'


@MODELS.register_module()
class SmokeDataPreProcessor(SegDataPreProcessor):
    """:class:`SegDataPreProcessor` that keeps the un-normalised image too.

    FoSp's separation module and the transmission losses of
    Transmission-BVM model image formation (``I = (1 - a) B + a S``, the
    dark channel prior), so they need the RGB image in [0, 1], not the
    normalised network input. This pre-processor does what the stock one
    does (BGR -> RGB, ``(x - mean) / std``, padding, batch augments) and,
    from the same loaded pixels, writes the RGB image in [0, 1] into every
    data sample as ``rgb_image`` (``PixelData`` of shape (3, H, W) at the
    padded input size). Nothing downstream reverses the normalisation.

    The padded border of ``rgb_image`` holds the colour that the padded
    network input stands for, ``(mean + pad_val * std) / 255`` per channel,
    so that the image and the network input describe the same picture
    (the labels of the border are ``seg_pad_val``, i.e. ignored).

    The network inputs, their padding and the metainfo are exactly those of
    :class:`SegDataPreProcessor` with the same arguments, so the two can be
    exchanged in any config whose model does not need the image.

    Args:
        return_images (bool): Write ``rgb_image`` into the data samples.
            Defaults to True.
        **kwargs: :class:`SegDataPreProcessor` arguments (``mean``,
            ``std``, ``bgr_to_rgb``, ``size``, ``size_divisor``,
            ``pad_val``, ``seg_pad_val``, ``batch_augments``,
            ``test_cfg``).
    """

    def __init__(self, return_images: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        if return_images and self.batch_augments is not None:
            raise ValueError(
                'SmokeDataPreProcessor: batch_augments change the network '
                'input after rgb_image is taken; set return_images=False or '
                'remove model.data_preprocessor.batch_augments')
        self.return_images = return_images

    def pad_colour(self) -> Tensor:
        """Colour (3, 1, 1), 0-255 in the channel order of the network
        input, that a padded input pixel stands for; on the device of the
        pre-processor's buffers."""
        if self._enable_normalize:
            return self.mean + float(self.pad_val) * self.std
        return torch.full((3, 1, 1), float(self.pad_val))

    def images_from_inputs(self, inputs: Tensor) -> Tensor:
        """RGB image in [0, 1] of an already normalised batch (N, 3, H, W).

        Only for callers that hold nothing but the network input (the
        tensor mode that ONNX export traces); everything that goes through
        :meth:`forward` receives ``rgb_image`` instead.
        """
        with torch.no_grad():
            img = inputs.detach()
            if self._enable_normalize:
                img = img * self.std.to(img) + self.mean.to(img)
            if img.shape[1] == 3 and not self.channel_conversion:
                img = img.flip(1)  # still in the BGR order mmcv loads
            return (img / 255.0).clamp_(0.0, 1.0)

    def _rgb(self, pixels: Tensor) -> Tensor:
        rgb = pixels if self.channel_conversion else pixels.flip(0)
        return (rgb / 255.0).clamp_(0.0, 1.0)

    def _attach_images(self, pixels: List[Tensor], size: Sequence[int],
                       data_samples: SampleList) -> None:
        """Write ``rgb_image`` (padded to ``size`` at the bottom/right)."""
        colour = None
        for sample, pix in zip(data_samples, pixels):
            h, w = pix.shape[-2:]
            if (h, w) == tuple(size):
                image = self._rgb(pix)
            else:
                if colour is None:
                    colour = self._rgb(self.pad_colour().to(pix))
                image = colour.expand(3, *size).clone()
                image[:, :h, :w] = self._rgb(pix)
            sample.set_data({IMAGE_FIELD: PixelData(data=image)})

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        """Normalise, pad and convert like :class:`SegDataPreProcessor`.

        Args:
            data (dict): Data sampled from the dataloader.
            training (bool): Whether to enable training-time augmentation.

        Returns:
            dict: ``inputs`` and ``data_samples``; every data sample also
            holds ``rgb_image`` when ``return_images`` is True.
        """
        data = self.cast_data(data)  # type: ignore
        inputs = data['inputs']
        data_samples: Optional[SampleList] = data.get('data_samples', None)
        if self.channel_conversion and inputs[0].size(0) == 3:
            inputs = [_input[[2, 1, 0], ...] for _input in inputs]
        pixels = [_input.float() for _input in inputs]
        if self._enable_normalize:
            inputs = [(_input - self.mean) / self.std for _input in pixels]
        else:
            inputs = pixels

        if training:
            if data_samples is None:
                raise ValueError('SmokeDataPreProcessor: training needs '
                                 '`data_samples`')
            inputs, data_samples = stack_batch(
                inputs=inputs,
                data_samples=data_samples,
                size=self.size,
                size_divisor=self.size_divisor,
                pad_val=self.pad_val,
                seg_pad_val=self.seg_pad_val)
            if self.batch_augments is not None:
                inputs, data_samples = self.batch_augments(
                    inputs, data_samples)
        else:
            img_size = inputs[0].shape[1:]
            if not all(_input.shape[1:] == img_size for _input in inputs):
                raise ValueError(
                    'SmokeDataPreProcessor: the images of a test batch must '
                    'have one size; use batch_size=1 for the test loader or '
                    'resize in the test pipeline')
            if self.test_cfg:
                inputs, padded_samples = stack_batch(
                    inputs=inputs,
                    size=self.test_cfg.get('size', None),
                    size_divisor=self.test_cfg.get('size_divisor', None),
                    pad_val=self.pad_val,
                    seg_pad_val=self.seg_pad_val)
                if data_samples is not None:
                    for sample, pad_info in zip(data_samples, padded_samples):
                        sample.set_metainfo({**pad_info})
            else:
                inputs = torch.stack(inputs, dim=0)

        if self.return_images and data_samples is not None and \
                pixels[0].shape[0] == 3:
            self._attach_images(pixels, inputs.shape[-2:], data_samples)
        return dict(inputs=inputs, data_samples=data_samples)
