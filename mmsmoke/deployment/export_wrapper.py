"""Tensor-in, tensors-out view of a segmentor for ONNX tracing."""
from typing import List, Tuple

from mmengine.logging import print_log
from torch import Tensor, nn

from ..utils.metainfo import whole_image_meta


class SegmentorExportWrapper(nn.Module):
    """The whole-image inference of a segmentor as plain tensors.

    ``forward(inputs)`` takes the batch the segmentor receives after its
    data pre-processor (normalised, in the channel order the pre-processor
    produces) and returns, all at the input size (N, C, H, W):

    - any MMSeg ``EncoderDecoder``: ``seg_logits`` (``encode_decode``: the
      head's logits resized to the input, as in 'whole' inference);
    - an mmsmoke segmentor (:class:`SmokeEncoderDecoder`): ``seg_logits``
      and the maps its ``map_names`` declares, from
      ``encode_decode_with_maps`` with the test options of one
      deterministic pass, which the segmentor class declares as
      ``DETERMINISTIC_TEST_CFG`` and which are passed as an argument (the
      model's ``test_cfg`` is not changed). For
      :class:`BVMEncoderDecoder` these are the **sampling-free**, uncalibrated
      ``uncertainty_total``, ``uncertainty_aleatoric`` and
      ``uncertainty_epistemic`` maps (one pass with ``z = mu`` and no
      dropout, then ``g_gamma``): the Monte Carlo mode draws random numbers
      and is not exported, and a config that asks for other options is
      exported with these, with a log line; with ``uncertainty='none'``
      only the logits. For :class:`FoSpEncoderDecoder`: the ``focus``,
      ``alpha``, ``foreground`` and ``background`` maps that ``predict``
      writes into the data samples (those the model has).

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
        self.test_cfg = None
        extra: Tuple[str, ...] = ()
        if hasattr(segmentor, 'encode_decode_with_maps'):
            own = dict(segmentor.test_cfg or {})
            self.test_cfg = dict(
                own, **getattr(segmentor, 'DETERMINISTIC_TEST_CFG', {}))
            changed = {
                key: value
                for key, value in self.test_cfg.items()
                if own.get(key, value) != value
            }
            if changed:
                asked = {key: own[key] for key in changed}
                print_log(
                    f'model.test_cfg asks for {asked}; the exported graph '
                    f'is one deterministic pass with {changed}',
                    logger='current')
            extra = tuple(segmentor.map_names(self.test_cfg))
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
        if self.test_cfg is None:
            return (model.encode_decode(inputs, metas), )
        logits, maps = model.encode_decode_with_maps(inputs, None, metas,
                                                     self.test_cfg)
        return (logits, ) + tuple(maps[key] for key in self.output_names[1:])
