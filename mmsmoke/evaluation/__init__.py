from .metrics import FrameAlarmMetric, SmokeMetric

__all__ = ['SmokeMetric', 'FrameAlarmMetric']
