"""Procedural synthetic smoke scenes: the embedded default dataset."""
from .generator import (DISTRACTORS, KINDS, SMOKE_KINDS, SPLIT_OFFSETS,
                        SyntheticSmokeGenerator, generate_dataset)
from .noise import domain_warp, fbm, fbm1d, smoothstep, value_noise

__all__ = [
    'SyntheticSmokeGenerator', 'generate_dataset', 'KINDS', 'SMOKE_KINDS',
    'DISTRACTORS', 'SPLIT_OFFSETS', 'fbm', 'fbm1d', 'value_noise',
    'domain_warp', 'smoothstep'
]
