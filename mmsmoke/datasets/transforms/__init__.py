from .loading import (MASK_CONVENTIONS, LoadSmokeAnnotations,
                      LoadSmokeImageFromFile)
from .random_rescale import RandomRescale
from .smoke_aware_crop import SmokeAwareCrop
from .pipeline_check import check_pipeline_loaders
from .synthetic_overlay import SyntheticSmokeOverlay

__all__ = [
    'MASK_CONVENTIONS', 'LoadSmokeAnnotations', 'LoadSmokeImageFromFile',
    'RandomRescale', 'check_pipeline_loaders',
    'SmokeAwareCrop', 'SyntheticSmokeOverlay'
]
