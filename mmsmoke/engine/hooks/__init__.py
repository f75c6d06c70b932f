from .atomic_checkpoint_hook import AtomicCheckpointHook
from .channels_last_hook import ChannelsLastHook
from .rng_state_hook import RNGStateHook
from .rss_monitor_hook import RSSMonitorHook

__all__ = [
    'AtomicCheckpointHook', 'ChannelsLastHook', 'RNGStateHook',
    'RSSMonitorHook'
]
