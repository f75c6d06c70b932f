from .hooks import RNGStateHook, RSSMonitorHook

__all__ = ['RNGStateHook', 'RSSMonitorHook']
