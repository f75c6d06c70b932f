"""The name under which configs add the transmission losses to a head."""
from mmseg.registry import MODELS

from .smoke_encoder_decoder import SmokeEncoderDecoder


@MODELS.register_module()
class TransmissionEncoderDecoder(SmokeEncoderDecoder):
    """:class:`SmokeEncoderDecoder` under the name that says what it adds.

    No method of the base is overridden: ``pixel_losses`` (e.g. the
    transmission coherence loss of Transmission-BVM, Eq. 7-9) and
    ``transmission_cfg`` are arguments of the base
    (:class:`~mmsmoke.models.losses.PixelLosses`). In training the decode
    head's ``loss_decode`` runs unchanged; the transmission ``T`` of the
    batch is estimated once (dark channel prior, Eq. 9), batched on the
    device without gradient, from the RGB image in [0, 1] of the batch
    inputs (:class:`~mmsmoke.models.data_preprocessors.SmokeDataPreProcessor`
    inverts its normalisation), and every pixel loss gets the head's logits at the label size
    (and ``transmission=T`` when its ``forward`` names it). Loss items are
    prefixed ``decode.`` like the head's. Inference is the stock one. Any
    decode head works, so the transmission loss is added to e.g.
    DeepLabV3+ or SegFormer by config alone.
    """
