"""Smoke size strata shared by the datasets, the generator and the metric.

SmokeSeg ships ``test_small``, ``test_medium`` and ``test_large`` split files but
does not document the area cut points. On its public 40-image sample every
``test_small`` mask covers at most 0.49% of the image and every ``test_medium``
mask at least 0.52%, so the small/medium cut is 0.5% of the image area. The
medium/large cut is not recoverable from the sample; 5% is used and stated
wherever a size breakdown is reported.
"""
from typing import Tuple

SIZE_GROUPS: Tuple[str, str, str] = ('small', 'medium', 'large')
#: Area fractions (smoke pixels / image pixels) separating the three groups.
SIZE_THRESHOLDS: Tuple[float, float] = (0.005, 0.05)


def size_group(fraction: float,
               thresholds: Tuple[float, float] = SIZE_THRESHOLDS) -> str:
    """Return the size stratum of a smoke mask covering ``fraction`` of an image.

    Args:
        fraction (float): Smoke pixels divided by all pixels, in [0, 1].
        thresholds (tuple[float, float]): The small/medium and medium/large
            cut points. Defaults to :data:`SIZE_THRESHOLDS`.

    Returns:
        str: ``'none'`` for a smoke-free mask, else one of :data:`SIZE_GROUPS`.
    """
    if fraction <= 0:
        return 'none'
    if fraction < thresholds[0]:
        return 'small'
    if fraction < thresholds[1]:
        return 'medium'
    return 'large'
