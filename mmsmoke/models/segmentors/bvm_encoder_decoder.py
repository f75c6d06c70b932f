"""Transmission-BVM segmentor: BNN-LVM + sampling-free uncertainty."""
from typing import List, Optional, Tuple

import torch
from torch import Tensor, nn

from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import (ConfigType, OptConfigType, OptSampleList,
                         SampleList, add_prefix)
from ..uncertainty import (frozen_bn_statistics, mc_dropout_enabled,
                           mc_uncertainty)
from .smoke_encoder_decoder import (HeadStep, LogitsAndMaps, Maps,
                                    SmokeEncoderDecoder)

UNCERTAINTY_MODES = ('sampling_free', 'mc', 'none')
#: Names of the uncertainty maps (``pred_<name>`` in the data samples).
TOTAL, ALEATORIC, EPISTEMIC = ('uncertainty_total', 'uncertainty_aleatoric',
                               'uncertainty_epistemic')
#: The test options of one deterministic pass (what an export traces).
DETERMINISTIC_TEST_CFG = dict(uncertainty='sampling_free', calibrate=False)


def check_bvm_test_cfg(test_cfg) -> None:
    """Validate the Transmission-BVM keys of ``model.test_cfg``.

    Raises:
        ValueError: Naming the ``model.test_cfg`` key to change.
    """
    unc = test_cfg.get('uncertainty', 'sampling_free')
    if unc not in UNCERTAINTY_MODES:
        raise ValueError(f'model.test_cfg.uncertainty must be one of '
                         f'{UNCERTAINTY_MODES}, got {unc!r}')
    if unc == 'mc' and int(test_cfg.get('mc_samples', 10)) < 2:
        raise ValueError('model.test_cfg.mc_samples must be >= 2')
    if test_cfg.get('calibrate', False):
        if unc == 'none':
            raise ValueError('model.test_cfg.calibrate needs the total '
                             "uncertainty; model.test_cfg.uncertainty is "
                             "'none'")
        if float(test_cfg.get('calibrate_min_temperature', 0.01)) <= 0:
            raise ValueError('model.test_cfg.calibrate_min_temperature '
                             'must be positive')


@MODELS.register_module()
class BVMEncoderDecoder(SmokeEncoderDecoder):
    """Transmission-BVM: Bayesian latent variable model with uncertainty.

    Yan, Zhang and Barnes, "Transmission-Guided Bayesian Generative Model
    for Smoke Segmentation", AAAI 2022. With
    :class:`~mmsmoke.models.decode_heads.BVMHead` as decode head:

    Training (one step):

    1. backbone features ``f1..f4`` (computed once);
    2. ``z ~ P_omega(z | x)``, logits ``s = P_theta(y | x, z)`` and the head's
       ``loss_decode`` (the structure loss, Eq. 4) plus ``loss_kl``
       (Eq. 2);
    3. ``B - 1`` more samples of the head (new ``z`` and new dropout masks,
       same backbone features, no gradient, batch-norm statistics frozen);
       with ``s`` they give the MC targets ``U_p = H[mean p]`` and
       ``U_a = mean H[p]`` (Eq. 3, 5);
    4. the uncertainty network ``g_gamma(x, s)`` predicts ``U_p``, ``U_a``
       and is fitted with ``L_un = 0.5 (MSE(U_p) + MSE(U_a))`` (Eq. 6,
       ``uncertainty.loss_uncertainty``); ``s`` is detached, so ``L_un``
       trains only ``g_gamma``;
    5. ``pixel_losses`` get ``transmission=T`` (Eq. 9) and
       ``uncertainty=U_p`` predicted by ``g_gamma`` (detached), i.e.
       ``0.3 L_trans + 0.01 L_c`` of Eq. 11 when configured with those
       weights.

    The generator's and ``g_gamma``'s separate learning rates (2.5e-5 and
    1.5e-5 in the paper) are set in the config with
    ``paramwise_cfg=dict(custom_keys={'uncertainty_net':
    dict(lr_mult=0.6)})``; since no loss reaches both parameter sets, one
    Adam optimiser is equivalent to the paper's two.

    Inference (``test_cfg``):

    * ``uncertainty='sampling_free'`` (default): one deterministic pass
      (``z = mu``, dropout off) gives the prediction, and ``g_gamma`` the
      total and aleatoric maps; epistemic = total - aleatoric (>= 0).
    * ``uncertainty='mc'``: ``mc_samples`` (default 10) passes with sampled
      ``z`` and active dropout (backbone run once); the prediction is the
      mean probability and the maps are the MC estimates of Eq. 5. This is
      the reference the sampling-free maps approximate.
    * ``uncertainty='none'``: prediction only.
    * ``calibrate=True`` (default False): the output probability is
      ``sigma(s / U_p)`` instead of ``sigma(s)``, the uncertainty-based
      temperature scaling of Eq. 10 applied at test time (the paper: "our
      uncertainty-based temperature scaling can also be used to calibrate
      our model"). ``U_p`` is clamped to ``calibrate_min_temperature``
      (default 0.01). Masks at threshold 0.5 are unchanged. In slide mode
      each window is scaled by its own ``U_p`` before the windows are
      averaged. The tensor mode and the ONNX export return the raw logits
      and ``U_p``, from which the scaled probability follows.

    ``encode_decode`` and ``inference`` follow the same ``test_cfg`` (one
    answer for one model). The maps are entropies in bits (in [0, 1]),
    named ``uncertainty_total``, ``uncertainty_aleatoric`` (<= total) and
    ``uncertainty_epistemic`` (total - aleatoric, Eq. 5) by
    :meth:`encode_decode_with_maps`; :class:`SmokeEncoderDecoder` averages
    them over slide windows and restores them like ``seg_logits`` (both
    linear, so epistemic stays total - aleatoric). They are written into
    each ``SegDataSample`` as ``pred_uncertainty_total``,
    ``pred_uncertainty_aleatoric`` and ``pred_uncertainty_epistemic``
    (``PixelData`` of shape (1, H, W)).

    Any other decode head with dropout layers also works (MC dropout only,
    no latent variable); the config can then add the transmission and
    calibrated entropy losses to a stock head.

    Deviations from the authors' release (``sampling-based-BVM``): the
    release fits its single-head "variance" net to the batch-wise min-max
    normalised MC variance of 11 samples from the MC mean prediction; here
    ``g_gamma`` is the paper's two-head network fitted to the entropies of
    Eq. 5 from the prediction ``s`` it also sees at test time. The release's
    test scripts choose the MC sample closest to the ground truth; nothing
    here uses labels at test time.

    Args:
        backbone (dict): Backbone config.
        decode_head (dict): Decode head config (``out_channels=1``).
        uncertainty_net (dict): Config of ``g_gamma``. Defaults to
            ``dict(type='UncertaintyEstimationNet')``.
        train_mc_samples (int): ``B`` of Eq. 3/5 in training, including
            the prediction that carries gradient. Defaults to 10.
        uncertainty_loss_weight (float): Weight of ``L_un``.
            Defaults to 1.0.
        **kwargs: :class:`SmokeEncoderDecoder` arguments
            (``pixel_losses``, ``transmission_cfg``, ``neck``, ...);
            ``test_cfg`` takes
            ``mode`` ('whole' or 'slide', with ``crop_size``/``stride``),
            ``uncertainty``, ``mc_samples``, ``calibrate`` and
            ``calibrate_min_temperature`` (see above).
    """

    #: The test options of one deterministic pass (what an export traces).
    DETERMINISTIC_TEST_CFG = DETERMINISTIC_TEST_CFG

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 uncertainty_net: ConfigType = dict(
                     type='UncertaintyEstimationNet'),
                 train_mc_samples: int = 10,
                 uncertainty_loss_weight: float = 1.0,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, decode_head=decode_head, **kwargs)
        if self.out_channels != 1:
            raise ValueError(
                'BVMEncoderDecoder follows the binary convention '
                '(num_classes=2, out_channels=1); the decode head has '
                f'out_channels={self.out_channels}')
        if train_mc_samples < 2:
            raise ValueError('train_mc_samples must be >= 2 to estimate '
                             f'uncertainty, got {train_mc_samples}')
        if not self.has_latent and not any(
                isinstance(m, nn.modules.dropout._DropoutNd)
                for m in self.decode_head.modules()):
            raise ValueError(
                f'{type(self.decode_head).__name__} has neither a latent '
                'variable nor dropout layers, so its Monte Carlo samples '
                'would all be equal; use BVMHead or set dropout_ratio > 0.')
        self.uncertainty_net = MODELS.build(uncertainty_net)
        self.train_mc_samples = train_mc_samples
        self.uncertainty_loss_weight = uncertainty_loss_weight
        check_bvm_test_cfg(self.test_cfg)

    @property
    def has_latent(self) -> bool:
        """Whether the decode head has the latent variable ``z``."""
        return hasattr(self.decode_head, 'infer_latent')

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def _sample_logits(self, feats: List[Tensor],
                       latent: Optional[Tuple[Tensor, Tensor]]) -> Tensor:
        """One stochastic pass of the head on fixed backbone features."""
        head = self.decode_head
        if latent is None:
            return head.forward(feats)
        return head.decode(feats, head.reparameterize(*latent))

    def _masked_mse(self, pred: Tensor, target: Tensor,
                    valid: Tensor) -> Tensor:
        err = (pred - target).square() * valid
        return err.sum() / valid.sum().clamp(min=1.0)

    def head_forward_train(self, inputs: Tensor, feats: List[Tensor],
                           data_samples: SampleList) -> HeadStep:
        """Steps 2-4 of the class docstring on one batch (N, 3, H, W) whose
        samples hold ``gt_sem_seg``: the head's terms and ``loss_kl``
        (prefixed ``decode.`` with the pixel losses of step 5, which get
        ``uncertainty=U_p`` predicted by ``g_gamma``, detached) and ``L_un``
        as ``uncertainty.loss_uncertainty``.
        """
        head = self.decode_head
        latent = head.infer_latent(inputs) if self.has_latent else None
        # one stochastic pass: z ~ P_omega(z | x), then the head's dropout
        head_losses, seg_logits = self.decode_head_losses(
            feats, data_samples,
            **({} if latent is None else dict(
                z=head.reparameterize(*latent))))
        if seg_logits is None:
            raise ValueError(
                f'BVMEncoderDecoder: {type(head).__name__} computes its own '
                'loss terms, so its logits cannot be sampled for the '
                'uncertainty targets; change model.decode_head.type to a '
                'head that keeps the stock BaseDecodeHead.loss')
        if latent is not None:
            head_losses['loss_kl'] = head.loss_kl(*latent)

        prob, seg_label = self.logits_at_label_size(seg_logits, data_samples)
        prob = prob.sigmoid().detach()
        size = seg_label.shape[2:]
        samples = [prob]
        with torch.no_grad(), frozen_bn_statistics(head):
            detached = None if latent is None else tuple(t.detach()
                                                         for t in latent)
            for _ in range(self.train_mc_samples - 1):
                logits = self._sample_logits(feats, detached)
                samples.append(
                    resize(
                        logits,
                        size=size,
                        mode='bilinear',
                        align_corners=self.align_corners).sigmoid())
            total, aleatoric, _ = mc_uncertainty(torch.stack(samples))

        est_total, est_aleatoric = self.uncertainty_net(inputs, prob)
        if est_total.shape[2:] != size:
            est_total = resize(est_total, size=size, mode='bilinear')
            est_aleatoric = resize(est_aleatoric, size=size, mode='bilinear')
        valid = (seg_label != head.ignore_index).to(prob.dtype)
        loss_un = 0.5 * (
            self._masked_mse(est_total, total, valid) +
            self._masked_mse(est_aleatoric, aleatoric, valid))
        return HeadStep(
            head_losses, seg_logits, dict(uncertainty=est_total.detach()),
            add_prefix(
                dict(loss_uncertainty=self.uncertainty_loss_weight * loss_un),
                'uncertainty'))

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def _deterministic_logits(self, feats: List[Tensor],
                              inputs: Tensor) -> Tensor:
        if self.has_latent:
            mu, _ = self.decode_head.infer_latent(inputs)
            return self.decode_head.decode(feats, mu)
        return self.decode_head.forward(feats)

    def map_names(self, test_cfg: OptConfigType = None) -> Tuple[str, ...]:
        """The three uncertainty maps; none with ``uncertainty='none'``."""
        test_cfg = self.test_cfg if test_cfg is None else test_cfg
        if test_cfg.get('uncertainty', 'sampling_free') == 'none':
            return ()
        return (TOTAL, ALEATORIC, EPISTEMIC)

    def encode_decode_with_maps(
            self, inputs: Tensor, images: Optional[Tensor],
            batch_img_metas: List[dict],
            test_cfg: OptConfigType = None) -> LogitsAndMaps:
        """Logits and uncertainty maps of a batch (or a window of it).

        As the base's hook; ``images`` is unused (``g_gamma`` and
        ``P_omega`` see the normalised batch), ``test_cfg`` (default: the
        model's) gives ``uncertainty``, ``mc_samples``, ``calibrate`` and
        ``calibrate_min_temperature``, e.g. :data:`DETERMINISTIC_TEST_CFG`
        for an export. The logits (N, 1, H', W') are resized like the stock
        head's ``predict`` (pad shape, or window shape in slide mode) and
        temperature-scaled with ``calibrate``; the maps of
        :meth:`map_names` have the same size.
        """
        test_cfg = self.test_cfg if test_cfg is None else test_cfg
        check_bvm_test_cfg(test_cfg)
        method = test_cfg.get('uncertainty', 'sampling_free')
        head = self.decode_head
        feats = self.extract_feat(inputs)
        if method == 'mc':
            num = int(test_cfg.get('mc_samples', 10))
            latent = head.infer_latent(inputs) if self.has_latent else None
            probs = []
            with mc_dropout_enabled(head):
                for _ in range(num):
                    probs.append(
                        head.predict_by_feat(
                            self._sample_logits(feats, latent),
                            batch_img_metas).sigmoid())
            probs = torch.stack(probs)
            total, aleatoric, _ = mc_uncertainty(probs)
            mean = probs.mean(dim=0).clamp(1e-6, 1 - 1e-6)
            seg_logits = torch.log(mean) - torch.log1p(-mean)
        else:
            seg_logits = head.predict_by_feat(
                self._deterministic_logits(feats, inputs), batch_img_metas)
            if method == 'none':
                return seg_logits, {}
            total, aleatoric = self.uncertainty_net(inputs,
                                                    seg_logits.sigmoid())
            if total.shape[2:] != seg_logits.shape[2:]:
                total = resize(
                    total, size=seg_logits.shape[2:], mode='bilinear')
                aleatoric = resize(
                    aleatoric, size=seg_logits.shape[2:], mode='bilinear')
        aleatoric = torch.minimum(aleatoric, total)
        if test_cfg.get('calibrate', False):
            seg_logits = self.calibrate_logits(
                seg_logits, total,
                float(test_cfg.get('calibrate_min_temperature', 0.01)))
        return seg_logits, {
            TOTAL: total,
            ALEATORIC: aleatoric,
            EPISTEMIC: total - aleatoric
        }

    @staticmethod
    def calibrate_logits(seg_logits: Tensor,
                         total: Tensor,
                         min_temperature: float = 0.01) -> Tensor:
        """Temperature-scale logits by the total uncertainty (Eq. 10).

        ``s / max(U_p, t_min)``, the argument of the sigmoid in Eq. 10,
        with ``t_min = test_cfg.calibrate_min_temperature`` (default 0.01,
        the loss's ``min_temperature``). The sign of the logit, and so the
        mask at threshold 0.5, is unchanged; only the probabilities move.

        Args:
            seg_logits (Tensor): Logits (N, 1, H, W).
            total (Tensor): Total uncertainty (N, 1, H, W), in bits.
            min_temperature (float): ``t_min``.

        Returns:
            Tensor: Scaled logits.
        """
        return seg_logits / total.to(seg_logits.dtype).clamp(
            min=min_temperature)

    def _forward(
            self,
            inputs: Tensor,
            data_samples: OptSampleList = None
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Tensor mode: deterministic logits and sampling-free maps.

        Returns:
            tuple[Tensor, Tensor, Tensor]: Logits at the head's resolution
            (N, 1, H/4, W/4), total and aleatoric uncertainty at the input
            resolution (N, 1, H, W).
        """
        feats = self.extract_feat(inputs)
        seg_logits = self._deterministic_logits(feats, inputs)
        total, aleatoric = self.uncertainty_net(inputs, seg_logits.sigmoid())
        return seg_logits, total, aleatoric
