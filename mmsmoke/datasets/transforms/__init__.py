from .loading import (MASK_CONVENTIONS, LoadSmokeAnnotations,
                      LoadSmokeImageFromFile)

__all__ = [
    'MASK_CONVENTIONS', 'LoadSmokeAnnotations', 'LoadSmokeImageFromFile'
]
