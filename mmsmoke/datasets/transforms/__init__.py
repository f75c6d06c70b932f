from .loading import (MASK_CONVENTIONS, LoadSmokeAnnotations,
                      LoadSmokeImageFromFile)
from .random_rescale import RandomRescale
from .smoke_aware_crop import SmokeAwareCrop
from .strict_loaders import STRICT_LOADERS, strict_loader_pipeline
from .synthetic_overlay import SyntheticSmokeOverlay

__all__ = [
    'MASK_CONVENTIONS', 'LoadSmokeAnnotations', 'LoadSmokeImageFromFile',
    'RandomRescale', 'STRICT_LOADERS', 'strict_loader_pipeline',
    'SmokeAwareCrop', 'SyntheticSmokeOverlay'
]
