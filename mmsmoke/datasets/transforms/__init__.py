from .loading import (MASK_CONVENTIONS, LoadSmokeAnnotations,
                      LoadSmokeImageFromFile)
from .strict_loaders import STRICT_LOADERS, strict_loader_pipeline

__all__ = [
    'MASK_CONVENTIONS', 'LoadSmokeAnnotations', 'LoadSmokeImageFromFile',
    'STRICT_LOADERS', 'strict_loader_pipeline'
]
