"""Procedural synthetic smoke scenes: the embedded default dataset."""
from .generator import SyntheticSmokeGenerator
from .kinds import KINDS, SMOKE_KINDS
from .noise import domain_warp, fbm, fbm1d, smoothstep, value_noise
from .scene import DISTRACTORS, Scene
from .writer import SPLIT_OFFSETS, generate_dataset

__all__ = [
    'SyntheticSmokeGenerator', 'generate_dataset', 'KINDS', 'SMOKE_KINDS',
    'DISTRACTORS', 'Scene', 'SPLIT_OFFSETS', 'fbm', 'fbm1d', 'value_noise',
    'domain_warp', 'smoothstep'
]
