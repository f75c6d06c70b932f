"""Tensor-in, tensors-out view of a segmentor for ONNX tracing."""
from typing import List, Tuple

from mmengine.logging import print_log
from torch import Tensor, nn

from ..models.necks import FocusNeck
from ..utils.metainfo import whole_image_meta
from ..models.segmentors.bvm_encoder_decoder import BVMEncoderDecoder
from ..models.segmentors.fosp_encoder_decoder import FoSpEncoderDecoder

#: Extra outputs of each segmentor, after ``seg_logits``.
BVM_OUTPUTS = ('uncertainty_total', 'uncertainty_aleatoric',
               'uncertainty_epistemic')
FOSP_OUTPUTS = ('focus', 'alpha', 'foreground', 'background')


class SegmentorExportWrapper(nn.Module):
    """The whole-image inference of a segmentor as plain tensors.

    ``forward(inputs)`` takes the batch the segmentor receives after its
    data pre-processor (normalised, in the channel order the pre-processor
    produces) and returns, all at the input size (N, C, H, W):

    - any MMSeg ``EncoderDecoder``: ``seg_logits`` (``encode_decode``: the
      head's logits resized to the input, as in 'whole' inference);
    - :class:`BVMEncoderDecoder`: ``seg_logits`` and the **sampling-free**
      ``uncertainty_total``, ``uncertainty_aleatoric`` and
      ``uncertainty_epistemic`` maps (``encode_decode_with_maps``
      with ``uncertainty='sampling_free'``: one deterministic pass with
      ``z = mu`` and no dropout, then ``g_gamma``). The Monte Carlo mode
      draws random numbers and is not exported; a config that asks for it
      is exported in the sampling-free mode, with a log line. With
      ``uncertainty='none'`` only the logits are exported;
    - :class:`FoSpEncoderDecoder`: ``seg_logits`` and the ``focus``,
      ``alpha``, ``foreground`` and ``background`` maps that ``predict``
      writes into the data samples (those the model has: ``focus`` needs
      the focus logit, the other three the separation module).

    ``test_cfg.mode='slide'`` is not part of the graph: the graph is the
    whole-image forward at the traced size.

    Args:
        segmentor (nn.Module): A built segmentor in eval mode.
    """

    def __init__(self, segmentor: nn.Module) -> None:
        super().__init__()
        if not hasattr(segmentor, 'encode_decode'):
            raise TypeError(
                f'{type(segmentor).__name__} is not an MMSeg encoder-decoder'
                ' (no encode_decode); only those can be exported')
        self.segmentor = segmentor
        self.kind = 'stock'
        extra: Tuple[str, ...] = ()
        if isinstance(segmentor, BVMEncoderDecoder):
            self.kind = 'bvm'
            mode = segmentor.test_cfg.get('uncertainty', 'sampling_free')
            if mode == 'mc':
                print_log(
                    "test_cfg.uncertainty='mc' samples at random; the "
                    'exported graph uses the sampling-free mode',
                    logger='current')
            if mode == 'none':
                self.kind = 'stock'
            else:
                extra = BVM_OUTPUTS
        elif isinstance(segmentor, FoSpEncoderDecoder):
            self.kind = 'fosp'
            focus = isinstance(getattr(segmentor, 'neck', None), FocusNeck)
            extra = tuple(
                key for key in FOSP_OUTPUTS if (key == 'focus' and focus) or (
                    key != 'focus' and segmentor.separation is not None))
        self.output_names: Tuple[str, ...] = ('seg_logits', ) + extra

    @staticmethod
    def _metas(inputs: Tensor) -> List[dict]:
        shape = tuple(int(s) for s in inputs.shape[2:])
        return [whole_image_meta(shape) for _ in range(inputs.shape[0])]

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """Run the whole-image forward.

        Args:
            inputs (Tensor): Pre-processed batch (N, 3, H, W).

        Returns:
            tuple[Tensor]: The tensors named in :attr:`output_names`, each
            (N, C, H, W).
        """
        metas = self._metas(inputs)
        model = self.segmentor
        if self.kind == 'bvm':
            saved = model.test_cfg.get('uncertainty', 'sampling_free')
            model.test_cfg['uncertainty'] = 'sampling_free'
            try:
                logits, maps = model.encode_decode_with_maps(
                    inputs, None, metas)
            finally:
                model.test_cfg['uncertainty'] = saved
            maps = model.finish_maps(maps)
        elif self.kind == 'fosp':
            logits, maps = model.encode_decode_with_maps(inputs, None, metas)
        if self.kind in ('bvm', 'fosp'):
            return (logits, ) + tuple(maps[key]
                                      for key in self.output_names[1:])
        return (model.encode_decode(inputs, metas), )
