from .base_smoke_dataset import SMOKE_METAINFO, BinarySmokeDataset
from .smoke5k import SMOKE5KDataset
from .smokeseg import SmokeSegDataset
from .synthetic import SyntheticSmokeGenerator, generate_dataset
from .transforms import (MASK_CONVENTIONS, LoadSmokeAnnotations,
                         LoadSmokeImageFromFile)

__all__ = [
    'SMOKE_METAINFO', 'BinarySmokeDataset', 'SMOKE5KDataset',
    'SmokeSegDataset', 'MASK_CONVENTIONS', 'LoadSmokeAnnotations',
    'LoadSmokeImageFromFile', 'SyntheticSmokeGenerator', 'generate_dataset'
]
