"""Kind schedule of the synthetic generator: the kind of each sample index.

Each sample is dealt a ``(kind, target size group)`` slot. With a
``stratify_block``, the slots of ``block`` consecutive indices are a
shuffled deck (``numpy.random.default_rng([seed, 1, index // block])``)
holding every slot in proportion to its probability, so any run of indices
is balanced; without one, each index draws its slot independently from
``default_rng([seed, 2, index])``. Either way a kind depends only on
``seed`` and ``index``, and costs no rendering.
"""
from typing import Dict, Optional, Tuple

import numpy as np

#: Sample kinds, in the order of the probability arguments.
KINDS: Tuple[str, ...] = ('plume', 'thin', 'small', 'distractor', 'negative')
#: Kinds whose images contain smoke.
SMOKE_KINDS: Tuple[str, ...] = ('plume', 'thin', 'small')


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integer counts summing to ``total`` proportional to ``weights``."""
    raw = weights / weights.sum() * total
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind='stable')
    counts[order[:total - counts.sum()]] += 1
    return counts


class KindSchedule:
    """Deal ``(kind, target_group)`` slots to sample indices.

    Args:
        seed (int): Seed of the whole sequence of samples.
        kind_probs (dict[str, float]): Normalised share of each of
            :data:`KINDS`.
        large_fraction (float): Share of ``'plume'``/``'thin'`` samples that
            aim at the large stratum rather than the medium one.
        stratify_block (int | None): Block size of the shuffled decks, or
            ``None`` for independent draws.
    """

    def __init__(self, seed: int, kind_probs: Dict[str, float],
                 large_fraction: float, stratify_block: Optional[int]) -> None:
        self.seed = seed
        self.stratify_block = stratify_block
        # (kind, target size group) slots and their probabilities.
        p = kind_probs
        lf = large_fraction
        self._slots = (('plume', 'medium'), ('plume', 'large'),
                       ('thin', 'medium'), ('thin', 'large'),
                       ('small', 'small'), ('distractor', 'none'), ('negative',
                                                                    'none'))
        self._slot_p = np.array([
            p['plume'] * (1 - lf), p['plume'] * lf, p['thin'] * (1 - lf),
            p['thin'] * lf, p['small'], p['distractor'], p['negative']
        ])

    def kind_of(self, index: int) -> Tuple[str, str]:
        """Slot ``(kind, target_group)`` of sample ``index`` (an int >= 0)."""
        if self.stratify_block is None:
            rng = np.random.default_rng([self.seed, 2, index])
            slot = rng.choice(
                len(self._slots), p=self._slot_p / self._slot_p.sum())
            return self._slots[slot]
        block = self.stratify_block
        counts = _largest_remainder(self._slot_p, block)
        deck = np.repeat(np.arange(len(self._slots)), counts)
        rng = np.random.default_rng([self.seed, 1, index // block])
        deck = rng.permutation(deck)
        return self._slots[int(deck[index % block])]
