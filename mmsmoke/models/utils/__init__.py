from .image_ops import resize_like, restore_to_original
from .random_masks import random_box_masks
from .transmission import (atmospheric_light, dark_channel,
                           estimate_transmission, resized_transmission)

__all__ = [
    'resize_like', 'restore_to_original', 'random_box_masks', 'dark_channel',
    'atmospheric_light', 'estimate_transmission', 'resized_transmission'
]
