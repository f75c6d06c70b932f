from .hooks import (AtomicCheckpointHook, ChannelsLastHook, RNGStateHook,
                    RSSMonitorHook)
from .speed import compile_submodules, to_channels_last, unwrap_segmentor

__all__ = [
    'AtomicCheckpointHook', 'ChannelsLastHook', 'RNGStateHook',
    'RSSMonitorHook', 'compile_submodules', 'to_channels_last',
    'unwrap_segmentor'
]
