"""Transmission-BVM segmentor: BNN-LVM + sampling-free uncertainty."""
from typing import List, Optional, Tuple

import torch
from torch import Tensor, nn

from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptSampleList, SampleList, add_prefix
from ..losses.accuracy import fix_binary_acc_seg
from ..uncertainty import (frozen_bn_statistics, mc_dropout_enabled,
                           mc_uncertainty)
from .smoke_encoder_decoder import Maps
from .transmission_encoder_decoder import TransmissionEncoderDecoder

UNCERTAINTY_MODES = ('sampling_free', 'mc', 'none')
#: Names of the uncertainty maps (``pred_<name>`` in the data samples).
TOTAL, ALEATORIC, EPISTEMIC = ('uncertainty_total', 'uncertainty_aleatoric',
                               'uncertainty_epistemic')


@MODELS.register_module()
class BVMEncoderDecoder(TransmissionEncoderDecoder):
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
      (default 0.01). Masks at threshold 0.5 are unchanged. The tensor
      mode (ONNX export) returns the raw logits and ``U_p``, from which
      the scaled probability follows.

    The maps are entropies in bits (in [0, 1]), named
    ``uncertainty_total`` and ``uncertainty_aleatoric`` by
    :meth:`encode_decode_with_maps`; :class:`SmokeEncoderDecoder` averages
    them over slide windows and restores them like ``seg_logits``, and
    :meth:`finish_maps` adds ``uncertainty_epistemic`` = total - aleatoric
    (>= 0) at the original size. They are written into each
    ``SegDataSample`` as ``pred_uncertainty_total``,
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
        **kwargs: :class:`TransmissionEncoderDecoder` arguments
            (``pixel_losses``, ``transmission_cfg``) and
            :class:`SmokeEncoderDecoder` arguments; ``test_cfg`` takes
            ``mode`` ('whole' or 'slide', with ``crop_size``/``stride``),
            ``uncertainty``, ``mc_samples``, ``calibrate`` and
            ``calibrate_min_temperature`` (see above).
    """

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

    def check_test_cfg(self) -> None:
        """Validate ``mode``, ``uncertainty``, ``mc_samples``, ``calibrate``.
        """
        super().check_test_cfg()
        unc = self.test_cfg.get('uncertainty', 'sampling_free')
        if unc not in UNCERTAINTY_MODES:
            raise ValueError(f'model.test_cfg.uncertainty must be one of '
                             f'{UNCERTAINTY_MODES}, got {unc!r}')
        if unc == 'mc' and int(self.test_cfg.get('mc_samples', 10)) < 2:
            raise ValueError('model.test_cfg.mc_samples must be >= 2')
        if self.test_cfg.get('calibrate', False):
            if unc == 'none':
                raise ValueError('model.test_cfg.calibrate needs the total '
                                 'uncertainty; model.test_cfg.uncertainty is '
                                 "'none'")
            if float(self.test_cfg.get('calibrate_min_temperature',
                                       0.01)) <= 0:
                raise ValueError('model.test_cfg.calibrate_min_temperature '
                                 'must be positive')

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

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """All Transmission-BVM training losses (Eq. 2, 4, 6, 7, 10, 11):
        the steps of the class docstring on one batch (N, 3, H, W) whose
        samples hold ``gt_sem_seg``. The head's terms, ``loss_kl`` and the
        pixel losses are prefixed ``decode.``; ``L_un`` is
        ``uncertainty.loss_uncertainty``.
        """
        head = self.decode_head
        feats = self.extract_feat(inputs)
        latent = head.infer_latent(inputs) if self.has_latent else None
        seg_logits = self._sample_logits(feats, latent)
        head_losses = fix_binary_acc_seg(
            head.loss_by_feat(seg_logits, data_samples), head, seg_logits,
            data_samples)
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

        self.add_pixel_losses(
            head_losses,
            self._pixel_losses_forward(
                seg_logits,
                data_samples,
                inputs,
                extras=dict(uncertainty=est_total.detach())))

        losses = add_prefix(head_losses, 'decode')
        losses.update(
            add_prefix(
                dict(loss_uncertainty=self.uncertainty_loss_weight * loss_un),
                'uncertainty'))
        if self.with_auxiliary_head:
            losses.update(
                self._auxiliary_head_forward_train(feats, data_samples))
        return losses

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def _deterministic_logits(self, feats: List[Tensor],
                              inputs: Tensor) -> Tensor:
        if self.has_latent:
            mu, _ = self.decode_head.infer_latent(inputs)
            return self.decode_head.decode(feats, mu)
        return self.decode_head.forward(feats)

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Deterministic logits resized like the stock head's ``predict``."""
        feats = self.extract_feat(inputs)
        return self.decode_head.predict_by_feat(
            self._deterministic_logits(feats, inputs), batch_img_metas)

    def encode_decode_with_maps(
            self, inputs: Tensor, images: Optional[Tensor],
            batch_img_metas: List[dict]) -> Tuple[Tensor, Maps]:
        """Logits and uncertainty maps of a batch (or a window of it).

        Args:
            inputs (Tensor): Normalised batch (N, 3, H, W).
            images (Tensor, optional): Unused (``g_gamma`` and ``P_omega``
                see the normalised batch).
            batch_img_metas (list[dict]): Image meta information.

        Returns:
            tuple[Tensor, dict[str, Tensor]]: Logits (N, 1, H', W') resized
            like the stock head's ``predict`` (pad shape, or window shape
            in slide mode) and the maps ``uncertainty_total`` and
            ``uncertainty_aleatoric`` of the same size (none with
            ``uncertainty='none'``).
        """
        method = self.test_cfg.get('uncertainty', 'sampling_free')
        head = self.decode_head
        feats = self.extract_feat(inputs)
        if method == 'mc':
            num = int(self.test_cfg.get('mc_samples', 10))
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
            return seg_logits, {TOTAL: total, ALEATORIC: aleatoric}
        seg_logits = head.predict_by_feat(
            self._deterministic_logits(feats, inputs), batch_img_metas)
        if method == 'none':
            return seg_logits, {}
        total, aleatoric = self.uncertainty_net(inputs, seg_logits.sigmoid())
        if total.shape[2:] != seg_logits.shape[2:]:
            total = resize(total, size=seg_logits.shape[2:], mode='bilinear')
            aleatoric = resize(
                aleatoric, size=seg_logits.shape[2:], mode='bilinear')
        return seg_logits, {
            TOTAL: total,
            ALEATORIC: torch.minimum(aleatoric, total)
        }

    def inference_with_maps(
            self, inputs: Tensor, images: Optional[Tensor],
            batch_img_metas: List[dict]) -> Tuple[Tensor, Maps]:
        """Whole or slide inference, calibrated when ``test_cfg`` says so.
        """
        seg_logits, maps = super().inference_with_maps(inputs, images,
                                                       batch_img_metas)
        if self.test_cfg.get('calibrate', False):
            seg_logits = self.calibrate_logits(seg_logits, maps[TOTAL])
        return seg_logits, maps

    def calibrate_logits(self, seg_logits: Tensor, total: Tensor) -> Tensor:
        """Temperature-scale logits by the total uncertainty (Eq. 10).

        ``s / max(U_p, t_min)``, the argument of the sigmoid in Eq. 10,
        with ``t_min = test_cfg.calibrate_min_temperature`` (default 0.01,
        the loss's ``min_temperature``). The sign of the logit, and so the
        mask at threshold 0.5, is unchanged; only the probabilities move.

        Args:
            seg_logits (Tensor): Logits (N, 1, H, W).
            total (Tensor): Total uncertainty (N, 1, H, W), in bits.

        Returns:
            Tensor: Scaled logits.
        """
        t_min = float(self.test_cfg.get('calibrate_min_temperature', 0.01))
        return seg_logits / total.to(seg_logits.dtype).clamp(min=t_min)

    def finish_maps(self, maps: Maps) -> Maps:
        """Aleatoric <= total, and epistemic = total - aleatoric (Eq. 5),
        on the maps at the original size."""
        if TOTAL not in maps:
            return maps
        aleatoric = torch.minimum(maps[ALEATORIC], maps[TOTAL])
        return {
            TOTAL: maps[TOTAL],
            ALEATORIC: aleatoric,
            EPISTEMIC: maps[TOTAL] - aleatoric
        }

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
