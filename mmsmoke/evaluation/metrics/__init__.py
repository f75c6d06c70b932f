from .frame_alarm_metric import FrameAlarmMetric
from .smoke_metric import SmokeMetric

__all__ = ['SmokeMetric', 'FrameAlarmMetric']
