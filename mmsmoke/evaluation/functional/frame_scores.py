"""Per-frame smoke scores: one number per image from its probability map.

A camera acts on frames, not pixels: it needs one score per frame and a
threshold on that score (an operating point). This module reduces a batch
of (H, W) smoke-probability maps to one score per map with batched torch
operations on whatever device the maps are on (CPU, CUDA, ...).

Scores (``score`` argument), over the non-ignored pixels of a frame, with
``k`` from :func:`topk_counts`:

* ``'max'``: the largest pixel probability. ``max > t`` is exactly the rule
  "any pixel above ``t``" of ``SmokeMetric``'s ``false_alarm_rate`` with
  ``min_alarm_area=0``, so its ROC curve is the threshold sweep of that
  rule. A single hot pixel decides the frame.
* ``'topk_mean'``: the mean of the ``k`` largest probabilities. One hot
  pixel moves it by at most ``1 / k``, so isolated speckle does not make a
  frame look like smoke, while a plume of at least ``k`` confident pixels
  still scores high.
* ``'kth'``: the ``k``-th largest probability. ``kth > t`` exactly when at
  least ``k`` pixels exceed ``t``. With ``topk`` a fraction it is the score
  of :func:`mmsmoke.apis.presence_score` (the per-frame presence score of
  ``tools/infer.py`` and of the sequences fed to
  :class:`mmsmoke.apis.SmokeAlarm`), and ``kth > t`` is ``SmokeMetric``'s
  alarm rule with ``threshold=t`` and ``min_alarm_area=topk``.

``topk`` is either a fraction of the frame's non-ignored pixels (a float in
(0, 1]: ``k = max(1, ceil(topk * N))``, the rounding of
:func:`mmsmoke.apis.presence_score`) or an absolute pixel count (an int
>= 1, capped at N). A fraction keeps the score comparable across
resolutions: the probability maps are evaluated at the original image
size, so one pixel of the network's output covers more image pixels in a
large image than in a small one.
"""
import math
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

#: The per-frame scores :func:`frame_scores` computes.
FRAME_SCORES = ('max', 'topk_mean', 'kth')
#: Default ``topk``: 0.1% of the frame's pixels (66 pixels of a 256x256
#: crop, 308 of a 640x480 frame).
DEFAULT_TOPK = 0.001


def check_topk(topk: Union[int, float], what: str = 'topk') -> None:
    """Raise ``ValueError`` unless ``topk`` is an int >= 1 or a float in
    (0, 1]; ``what`` names the argument or config key in the message."""
    if isinstance(topk, bool) or not isinstance(topk, (int, float)):
        raise ValueError(f'{what} must be an int >= 1 (pixels) or a float '
                         f'in (0, 1] (fraction of pixels), got {topk!r}.')
    if isinstance(topk, int):
        if topk < 1:
            raise ValueError(f'{what} as a pixel count must be >= 1, got '
                             f'{topk!r}.')
    elif not 0.0 < topk <= 1.0:
        raise ValueError(f'{what} as a fraction of pixels must lie in '
                         f'(0, 1], got {topk!r}.')


def topk_counts(num_valid: Sequence[int],
                topk: Union[int, float] = DEFAULT_TOPK) -> list:
    """The ``k`` of every frame from its number of non-ignored pixels.

    Args:
        num_valid (Sequence[int]): Non-ignored pixels of each frame (>= 1).
        topk (int | float): A pixel count (int >= 1) or a fraction of the
            pixels (float in (0, 1]). Defaults to :data:`DEFAULT_TOPK`.

    Returns:
        list[int]: ``min(topk, N)`` for a count, ``max(1, ceil(topk * N))``
        for a fraction (a 1e-9 slack keeps ``0.01 * 300`` at 3).
    """
    check_topk(topk)
    if isinstance(topk, int):
        return [min(topk, int(n)) for n in num_valid]
    return [
        min(int(n), max(1, math.ceil(topk * int(n) - 1e-9))) for n in num_valid
    ]


def frame_scores(prob: Tensor,
                 valid: Optional[Tensor] = None,
                 score: str = 'max',
                 topk: Union[int, float] = DEFAULT_TOPK) -> Tensor:
    """One smoke score per probability map (batched, device-agnostic).

    Args:
        prob (Tensor): (N, H, W) or (H, W) smoke probabilities in [0, 1].
        valid (Tensor, optional): Bool mask of prob's shape, False where
            the pixel is ignored (``ignore_index`` in the ground truth).
            None scores every pixel.
        score (str): One of :data:`FRAME_SCORES`. Defaults to ``'max'``.
        topk (int | float): ``k`` of ``'topk_mean'`` and ``'kth'`` as a
            pixel count or a fraction of the non-ignored pixels (see
            :func:`topk_counts`); unused by ``'max'``. Defaults to
            :data:`DEFAULT_TOPK`.

    Returns:
        Tensor: (N,) float32 scores in [0, 1] on prob's device ((1,) for a
        single map).

    Raises:
        ValueError: For an unknown ``score``, a bad ``topk``, a shape
            mismatch, or a frame without any non-ignored pixel.
    """
    if score not in FRAME_SCORES:
        raise ValueError(
            f'score must be one of {FRAME_SCORES}, got {score!r}.')
    if prob.ndim == 2:
        prob = prob[None]
        valid = None if valid is None else valid[None]
    if prob.ndim != 3:
        raise ValueError('prob must be (N, H, W) or (H, W), got shape '
                         f'{tuple(prob.shape)}.')
    flat = prob.reshape(prob.shape[0], -1).float()
    if valid is None:
        num_valid = [flat.shape[1]] * flat.shape[0]
    else:
        if valid.shape != prob.shape:
            raise ValueError(f'valid has shape {tuple(valid.shape)}, prob '
                             f'{tuple(prob.shape)}; they must agree.')
        valid = valid.reshape(flat.shape).bool()
        num_valid = valid.sum(dim=1).tolist()
        # ignored pixels sort below every probability
        flat = flat.masked_fill(~valid, float('-inf'))
    if min(num_valid) < 1:
        raise ValueError('a frame has no non-ignored pixel and cannot be '
                         'scored.')
    if score == 'max':
        return flat.amax(dim=1)
    k = torch.as_tensor(topk_counts(num_valid, topk), device=flat.device)
    # k <= num_valid, so the k largest values of a frame are finite
    top = flat.topk(int(k.max()), dim=1, sorted=True).values
    if score == 'kth':
        return top.gather(1, (k - 1)[:, None])[:, 0]
    keep = torch.arange(top.shape[1], device=flat.device)[None] < k[:, None]
    top = torch.where(keep, top, torch.zeros_like(top))
    return top.sum(dim=1) / k.to(top.dtype)
