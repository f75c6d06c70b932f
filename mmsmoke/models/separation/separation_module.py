"""Separation module of FoSp: smoke image -> smoke layer + background."""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor, nn

from ..losses.alpha_prior_loss import AlphaPriorLoss  # noqa: F401
from ..losses.image_formation_loss import ImageFormationLoss  # noqa: F401
from ..losses.inpainting_loss import InpaintingLoss  # noqa: F401
from ..utils.random_masks import random_box_masks
from .light_inpainter import LightInpainter  # noqa: F401


@MODELS.register_module()
class SeparationModule(BaseModule):
    """Separate a smoke image into smoke foreground and clean background.

    Implements the Separation module of `FoSp
    <https://arxiv.org/abs/2306.04474>`_ (paper Sec. "Separation module"):
    the region the Focus module marks is inpainted to estimate the
    smoke-free background ``B``; the difference between the image and
    ``B`` is the smoke foreground. Here the separation is an explicit
    image decomposition

    .. code:: text

        hole  = sigmoid(focus logit, resized to the image) > hole_threshold
        B     = I * (1 - hole) + inpainter(I, hole) * hole
        a, S  = matting net([I, B, I - B, hole]);  a := a * hole
        I    ~= a * S + (1 - a) * B            (ImageFormationLoss)
        feat  = [|I - B|, a, a * S]            (to the Domain Fusion head)

    with opacity ``a`` in [0, 1] and smoke colour ``S`` in [0, 1]^3, so the
    predicted foreground ``a * S``, ``a`` and ``B`` are images that can be
    drawn. The separation runs at ``work_scale`` times the input size
    (default 0.5: the hole comes from a 1/16 focus map and the background
    is smooth, so full resolution buys little and costs 4x); every output
    is at that working size.

    Training (``loss``): the inpainter learns self-supervised; it is run on
    the focus holes and, batched with it, on the focus holes plus
    ``num_random_holes`` random boxes; :class:`InpaintingLoss` compares its
    prediction with the image on hole pixels the label marks smoke-free
    (there the image *is* the background). ``B`` is detached from
    everything else, so the inpainter is trained by that loss only and the
    segmentation loss cannot teach it to copy smoke into the background.
    The matting net is trained by :class:`ImageFormationLoss` and
    :class:`AlphaPriorLoss`, both averaged over the hole pixels (outside the
    hole ``B = I`` and ``a = 0`` by construction), and, through the
    foreground features, by the segmentation loss.

    Deviations from the released code (``FOSP_main.py``,
    ``inpainter_setting/``):

    - The release's inpainter is a frozen, randomly initialised MAT
      generator (no weights are ever loaded) run twice per image at a
      fixed 512 px on CUDA, and its "foreground" is ``10 * |G(I, hole) -
      G(I, 1)|`` on four decoder feature maps. Here the inpainter is
      pluggable (``inpainter``), light, trained, and size/device agnostic;
      the foreground is an image-space decomposition.
    - The release casts the hole mask to int64 after thresholding
      ``1 - focus >= 0.85``, i.e. a hole where ``focus > 0.15``; the same
      rule is used (``hole_threshold=0.15``) and, as in the release, no
      gradient flows through the mask.
    - The release feeds the inpainter a BGR image in [-1, 1] made on the
      CPU with numpy; here it gets the RGB image in [0, 1] on the device.

    Args:
        inpainter (dict): Config of the background estimator (see
            :class:`LightInpainter` for the interface). Defaults to
            ``dict(type='LightInpainter')``.
        hole_threshold (float): Focus probability above which a pixel is
            inpainted. Defaults to 0.15 (release).
        matting_channels (int): Width of the opacity/colour net.
            Defaults to 16.
        num_random_holes (int): Random boxes added to the focus holes for
            the self-supervised inpainting pass; 0 disables that pass (the
            inpainter then learns on the focus holes only). Defaults to 4.
        random_hole_scale (tuple[float, float]): Box side range as a
            fraction of the image side. Defaults to (0.05, 0.25).
        loss_inpaint (dict): Config of the inpainting loss.
        loss_formation (dict): Config of the image-formation loss.
        loss_alpha (dict): Config of the opacity prior.
        ignore_index (int): Ignored label value. Defaults to 255.
        align_corners (bool): ``align_corners`` of the focus resize.
            Defaults to False.
        work_scale (float): Working resolution of the separation relative
            to the input image, in (0, 1]. Defaults to 0.5.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    #: Channels of the foreground feature tensor (|I - B|, a, a * S).
    out_channels: int = 7

    def __init__(self,
                 inpainter: ConfigType = dict(type='LightInpainter'),
                 hole_threshold: float = 0.15,
                 matting_channels: int = 16,
                 num_random_holes: int = 4,
                 random_hole_scale: Tuple[float, float] = (0.05, 0.25),
                 loss_inpaint: ConfigType = dict(
                     type='InpaintingLoss', loss_weight=1.0),
                 loss_formation: ConfigType = dict(
                     type='ImageFormationLoss', loss_weight=1.0),
                 loss_alpha: ConfigType = dict(
                     type='AlphaPriorLoss',
                     smoke_free_weight=1.0,
                     sparsity_weight=0.05),
                 ignore_index: int = 255,
                 align_corners: bool = False,
                 work_scale: float = 0.5,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not 0.0 <= hole_threshold < 1.0:
            raise ValueError('SeparationModule hole_threshold must be in [0, '
                             f'1), got {hole_threshold}')
        if not 0.0 < work_scale <= 1.0:
            raise ValueError('SeparationModule work_scale must be in (0, 1], '
                             f'got {work_scale}')
        self.work_scale = work_scale
        self.inpainter = MODELS.build(inpainter)
        self.hole_threshold = hole_threshold
        self.num_random_holes = num_random_holes
        self.random_hole_scale = tuple(random_hole_scale)
        self.ignore_index = ignore_index
        self.align_corners = align_corners
        c = matting_channels
        act = dict(type='LeakyReLU', negative_slope=0.2)
        self.matting = nn.Sequential(
            ConvModule(10, c, 3, padding=1, act_cfg=act),
            ConvModule(c, c, 3, padding=2, dilation=2, act_cfg=act),
            ConvModule(c, c, 3, padding=4, dilation=4, act_cfg=act),
            nn.Conv2d(c, 4, 1))
        self.loss_inpaint = MODELS.build(loss_inpaint)
        self.loss_formation = MODELS.build(loss_formation)
        self.loss_alpha = MODELS.build(loss_alpha)

    def holes_from_focus(self, focus_logit: Tensor,
                         size: Tuple[int, int]) -> Tensor:
        """Threshold the focus map into the region to inpaint.

        Args:
            focus_logit (Tensor): Focus logit (N, 1, h, w).
            size (tuple[int, int]): Image size (H, W).

        Returns:
            Tensor: Float hole mask (N, 1, H, W) in {0, 1}, no gradient.
        """
        with torch.no_grad():
            prob = F.interpolate(
                focus_logit.detach().float(),
                size=size,
                mode='bilinear',
                align_corners=self.align_corners).sigmoid()
            return (prob > self.hole_threshold).to(focus_logit.dtype)

    def decompose(self, image: Tensor, hole: Tensor,
                  prediction: Tensor) -> Dict[str, Tensor]:
        """Composite the background and estimate opacity and smoke colour.

        Args:
            image (Tensor): RGB image in [0, 1], (N, 3, H, W).
            hole (Tensor): Hole mask (N, 1, H, W).
            prediction (Tensor): Inpainter output (N, 3, H, W).

        Returns:
            dict[str, Tensor]: ``background`` (B, detached), ``alpha``
            (a), ``smoke`` (S), ``foreground`` (a * S), ``hole`` and
            ``feature`` (the 7-channel ``[|I - B|, a, a * S]``).
        """
        background = (image * (1.0 - hole) + prediction * hole).detach()
        diff = image - background
        out = self.matting(torch.cat([image, background, diff, hole], 1))
        alpha = out[:, :1].sigmoid() * hole
        smoke = out[:, 1:].sigmoid()
        foreground = alpha * smoke
        feature = torch.cat([diff.abs(), alpha, foreground], dim=1)
        return dict(
            background=background,
            alpha=alpha,
            smoke=smoke,
            foreground=foreground,
            hole=hole,
            feature=feature)

    def _check_image(self, image: Tensor) -> None:
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError('SeparationModule expects the RGB image in [0, '
                             f'1] as (N, 3, H, W), got {tuple(image.shape)}')

    def work_size(self, size: Sequence[int]) -> Tuple[int, int]:
        """Working size for an input of ``size`` (H, W)."""
        return (max(1, round(int(size[0]) * self.work_scale)),
                max(1, round(int(size[1]) * self.work_scale)))

    def _to_work_size(self, image: Tensor) -> Tensor:
        size = self.work_size(image.shape[-2:])
        if tuple(image.shape[-2:]) == size:
            return image
        return F.interpolate(
            image,
            size=size,
            mode='bilinear',
            align_corners=False,
            antialias=True).clamp_(0.0, 1.0)

    def _label_to_work_size(self, label: Tensor, size: Tuple[int,
                                                             int]) -> Tensor:
        """Shrink a label map; a cell is smoke-free (0) only if all of its
        pixels are, ignored (``ignore_index``) if any of them is."""
        if label.dim() == 3:
            label = label.unsqueeze(1)
        if tuple(label.shape[-2:]) == tuple(size):
            return label
        not_free = F.adaptive_max_pool2d((label != 0).float(), size)
        ignored = F.adaptive_max_pool2d((label == self.ignore_index).float(),
                                        size)
        out = torch.ones_like(not_free, dtype=torch.long)
        out[not_free == 0] = 0
        out[ignored > 0] = self.ignore_index
        return out

    def forward(self, image: Tensor, focus_logit: Tensor) -> Dict[str, Tensor]:
        """Separate the image (inference; no loss).

        Args:
            image (Tensor): RGB image in [0, 1], (N, 3, H, W).
            focus_logit (Tensor): Focus logit (N, 1, h, w).

        Returns:
            dict[str, Tensor]: See :meth:`decompose`; maps are at
            :meth:`work_size`.
        """
        self._check_image(image)
        image = self._to_work_size(image)
        hole = self.holes_from_focus(focus_logit, image.shape[-2:])
        return self.decompose(image, hole, self.inpainter(image, hole))

    def loss(self, image: Tensor, focus_logit: Tensor,
             label: Tensor) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Separate the image and compute the separation losses.

        Args:
            image (Tensor): RGB image in [0, 1], (N, 3, H, W).
            focus_logit (Tensor): Focus logit (N, 1, h, w).
            label (Tensor): Labels (N, H', W') or (N, 1, H', W') with
                {0: background, 1: smoke, ignore_index}; shrunk to the
                working size (see :meth:`_label_to_work_size`).

        Returns:
            tuple[dict, dict]: The separation outputs (see
            :meth:`decompose`) and the losses keyed by their ``loss_name``.
        """
        self._check_image(image)
        image = self._to_work_size(image)
        n = image.shape[0]
        size = tuple(image.shape[-2:])
        label = self._label_to_work_size(label, size)
        free = (label == 0).to(image)
        hole = self.holes_from_focus(focus_logit, size)
        if self.num_random_holes > 0:
            boxes = random_box_masks(n, size, self.num_random_holes,
                                     self.random_hole_scale, image.device)
            holes = torch.cat([hole, torch.maximum(hole, boxes.to(hole))])
            images = torch.cat([image, image])
            pred_all = self.inpainter(images, holes)
            loss_inpaint = self.loss_inpaint(pred_all, images,
                                             holes * free.repeat(2, 1, 1, 1))
            prediction = pred_all[:n]
        else:
            prediction = self.inpainter(image, hole)
            loss_inpaint = self.loss_inpaint(prediction, image, hole * free)
        outs = self.decompose(image, hole, prediction)
        # Outside the hole B = I and a = 0 by construction: the formation
        # and opacity terms are averaged over the hole only, so that a small
        # hole is not drowned by the trivially satisfied rest of the image.
        in_hole = (hole > 0) & (label != self.ignore_index)
        hole_label = torch.where(in_hole, label,
                                 torch.full_like(label, self.ignore_index))
        losses = {
            self.loss_inpaint.loss_name:
            loss_inpaint,
            self.loss_formation.loss_name:
            self.loss_formation(image, outs['alpha'], outs['smoke'],
                                outs['background'], in_hole.to(image)),
            self.loss_alpha.loss_name:
            self.loss_alpha(outs['alpha'], hole_label),
        }
        return outs, losses
