"""Backbones: EfficientNet-Lite with offline ImageNet weights
(``effnet-lite://`` checkpoints, registered on import)."""
from .efficientnet_lite import EfficientNetLite
from .efficientnet_lite_weights import (EFFICIENTNET_LITE_WEIGHTS,
                                        convert_to_timm, load_timm_state_dict,
                                        package_checkpoint_path)

__all__ = [
    'EfficientNetLite', 'EFFICIENTNET_LITE_WEIGHTS', 'convert_to_timm',
    'load_timm_state_dict', 'package_checkpoint_path'
]
