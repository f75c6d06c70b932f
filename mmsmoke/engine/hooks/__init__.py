from .rng_state_hook import RNGStateHook
from .rss_monitor_hook import RSSMonitorHook

__all__ = ['RNGStateHook', 'RSSMonitorHook']
