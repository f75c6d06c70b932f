"""Helpers shared by the mmsmoke losses."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

#: Floating point types too narrow to accumulate a loss in.
HALF_DTYPES = (torch.float16, torch.bfloat16)


class WeightedLoss(nn.Module):
    """Base of the mmsmoke losses: a ``loss_weight`` and a loss item name.

    MMSeg's decode heads (and mmsmoke's segmentors) log each loss under
    its :attr:`loss_name`, and MMSeg's ``parse_losses`` back-propagates
    only the items whose name contains ``loss``, so the name is checked
    here, once for every loss. Subclasses multiply their value by
    ``loss_weight`` and name their default item in
    :attr:`default_loss_name`; a loss whose only arguments are these two
    needs no constructor of its own.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str, optional): Name of the loss item; must start with
            ``loss_``. None takes the class's :attr:`default_loss_name`.

    Raises:
        ValueError: If the name does not start with ``loss_``.
    """

    #: The loss item name when the config gives none.
    default_loss_name: str = 'loss_smoke'

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: Optional[str] = None) -> None:
        super().__init__()
        loss_name = self.default_loss_name if loss_name is None \
            else loss_name
        check_loss_name(loss_name, type(self).__name__)
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item (starts with ``loss_``)."""
        return self._loss_name


def check_loss_name(loss_name: str, owner: str = 'loss') -> None:
    """Raise unless ``loss_name`` starts with ``loss_``.

    MMSeg's ``parse_losses`` adds only the items whose name contains
    ``loss`` to the total that is back-propagated.

    Args:
        loss_name (str): The name to check.
        owner (str): Who takes it, for the message (e.g. the class name).
    """
    if not isinstance(loss_name, str) or not loss_name.startswith('loss_'):
        raise ValueError(f'{owner}: loss_name must start with "loss_" (the '
                         'config key loss_name of this loss), got '
                         f'{loss_name!r}')


class SavedGradFunction(torch.autograd.Function):
    """Autograd function whose forward already wrote its input's gradient.

    The forward of a subclass returns a scalar and saves ``d scalar / d
    input`` (one tensor of the first input's size) with
    ``ctx.save_for_backward`` when ``ctx.needs_input_grad[0]``; the
    backward is then a multiplication, and the other five inputs get no
    gradient.
    """

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        grad_prob = None
        if ctx.needs_input_grad[0]:
            (grad, ) = ctx.saved_tensors
            grad_prob = grad * grad_output
        return grad_prob, None, None, None, None, None


def upcast_half(tensor: Tensor) -> Tensor:
    """Return a float32 copy of a half-precision tensor, others unchanged.

    Under automatic mixed precision a head hands its losses float16 logits.
    float16 overflows above 65504, so a sum over a few thousand pixels of a
    large per-pixel loss becomes ``inf``, and a logit divided by a small
    temperature becomes ``inf`` and then ``0 * inf = nan``. The mmsmoke
    losses therefore compute in float32 whatever the input precision; the
    gradient flows back through the cast in the input's dtype. float32 and
    float64 inputs are returned as they are.

    Args:
        tensor (Tensor): Any tensor.

    Returns:
        Tensor: ``tensor.float()`` for float16/bfloat16, else ``tensor``.
    """
    if tensor.dtype in HALF_DTYPES:
        return tensor.float()
    return tensor


def check_logits(seg_logits: Tensor) -> Tensor:
    """Check that logits are (N, C, H, W) and upcast half precision.

    Args:
        seg_logits (Tensor): Logits.

    Returns:
        Tensor: The logits, in float32 if they were float16/bfloat16.
    """
    if seg_logits.dim() != 4:
        raise ValueError('seg_logits must have shape (N, C, H, W), got '
                         f'{tuple(seg_logits.shape)}')
    return upcast_half(seg_logits)


def check_label(seg_label: Tensor, seg_logits: Tensor) -> Tensor:
    """Labels as (N, H, W), checked against (N, C, H, W) logits.

    Args:
        seg_label (Tensor): Labels (N, H, W) or (N, 1, H, W).
        seg_logits (Tensor): Logits the labels go with.

    Returns:
        Tensor: (N, H, W) labels.
    """
    n, _, h, w = seg_logits.shape
    if seg_label.dim() == 4:
        seg_label = seg_label.squeeze(1)
    if seg_label.shape != (n, h, w):
        raise ValueError(f'seg_label must have shape ({n}, {h}, {w}), '
                         f'got {tuple(seg_label.shape)}')
    return seg_label


def guidance_map(value: Tensor, seg_logits: Tensor, name: str) -> Tensor:
    """A detached (N, 1, H, W) guidance map at the logits' size and dtype.

    Losses guided by a per-pixel map that no gradient may reach (the
    transmission of Eq. 7-8, the uncertainty temperature of Eq. 10) accept
    it as (N, 1, H', W') or (N, H', W') and resize it bilinearly when its
    size differs from the logits'.

    Args:
        value (Tensor): The map.
        seg_logits (Tensor): Logits (N, C, H, W) the map goes with.
        name (str): Name of the map for the error message.

    Returns:
        Tensor: (N, 1, H, W) map, detached, in the logits' dtype.
    """
    n = seg_logits.shape[0]
    if value.dim() == 3:
        value = value.unsqueeze(1)
    if value.dim() != 4 or value.shape[:2] != (n, 1):
        raise ValueError(f'{name} must have shape ({n}, 1, H, W), got '
                         f'{tuple(value.shape)}')
    value = value.detach().to(seg_logits.dtype)
    if value.shape[-2:] != seg_logits.shape[-2:]:
        value = F.interpolate(
            value,
            size=seg_logits.shape[-2:],
            mode='bilinear',
            align_corners=False)
    return value


def guided_logits(seg_logits: Tensor, value: Optional[Tensor], name: str,
                  missing: str) -> Tuple[Tensor, Tensor]:
    """Checked logits and the :func:`guidance_map` that goes with them.

    Args:
        seg_logits (Tensor): Logits (N, C, H, W).
        value (Tensor, optional): The guidance map; None when the caller
            did not pass one.
        name (str): Name of the map for the shape error message.
        missing (str): Error message when ``value`` is None; it says where
            to list the loss so that it receives the map.

    Returns:
        tuple[Tensor, Tensor]: The logits, in float32 if they were
        float16/bfloat16, and the (N, 1, H, W) map, detached, in their
        dtype.
    """
    if value is None:
        raise ValueError(missing)
    seg_logits = check_logits(seg_logits)
    return seg_logits, guidance_map(value, seg_logits, name)


def masked_pixel_mean(err: Tensor, valid_mask: Optional[Tensor],
                      owner: str) -> Tensor:
    """Mean of a per-pixel error over the valid pixels.

    Args:
        err (Tensor): Per-pixel error (N, 1, H, W).
        valid_mask (Tensor, optional): (N, 1, H, W) or (N, H, W) mask of the
            pixels to average, or None for all. An empty mask gives zero,
            still connected to ``err``'s graph.
        owner (str): Name of the loss for the error message.

    Returns:
        Tensor: Scalar mean.
    """
    if valid_mask is None:
        return err.mean()
    if valid_mask.dim() == 3:
        valid_mask = valid_mask.unsqueeze(1)
    if valid_mask.dim() != 4 or valid_mask.shape[0] != err.shape[0] or \
            valid_mask.shape[-2:] != err.shape[-2:]:
        raise ValueError(f'{owner}: valid_mask shape '
                         f'{tuple(valid_mask.shape)} does not match the '
                         f'error map {tuple(err.shape)}')
    valid_mask = valid_mask.to(err)
    return (err * valid_mask).sum() / valid_mask.sum().clamp(min=1.0)
