from .image_ops import denormalize_inputs

__all__ = ['denormalize_inputs']
