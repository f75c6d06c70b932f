"""FoSp separation: pluggable background estimators and the module."""
from .light_inpainter import LightInpainter
from .separation_module import SeparationModule

__all__ = ['LightInpainter', 'SeparationModule']
