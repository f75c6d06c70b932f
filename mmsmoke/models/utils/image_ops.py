"""Image helpers shared by the segmentors that need the raw image."""
import torch
from torch import Tensor, nn


def denormalize_inputs(inputs: Tensor, data_preprocessor: nn.Module) -> Tensor:
    """Undo the data pre-processor's normalisation, batched on the device.

    The stock :class:`mmseg.models.SegDataPreProcessor` subtracts ``mean``,
    divides by ``std`` and optionally converts BGR to RGB. Modules that model
    image formation (the transmission estimate, the separation module) need
    the un-normalised image instead. This inverts the pre-processor without
    leaving the device or looping over images.

    Args:
        inputs (Tensor): Normalised batch of shape (N, 3, H, W).
        data_preprocessor (nn.Module): The segmentor's data pre-processor.
            ``mean``/``std`` buffers and the ``channel_conversion`` flag are
            read when present; a pre-processor without normalisation is
            assumed to hand over 0-255 pixels.

    Returns:
        Tensor: RGB image in [0, 1] of shape (N, 3, H, W), same dtype and
        device as ``inputs``. No gradient flows through it.
    """
    with torch.no_grad():
        img = inputs.detach()
        if getattr(data_preprocessor, '_enable_normalize', False):
            mean = data_preprocessor.mean.to(img)
            std = data_preprocessor.std.to(img)
            img = img * std + mean
        if img.shape[1] == 3 and not getattr(data_preprocessor,
                                             'channel_conversion', False):
            # Pixels are still in the BGR order mmcv loads them in.
            img = img.flip(1)
        return (img / 255.0).clamp_(0.0, 1.0)
