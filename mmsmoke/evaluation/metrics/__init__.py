from .frame_alarm_metric import FrameAlarmMetric
from .per_sample_metric import PerSampleMetric
from .smoke_metric import SmokeMetric

__all__ = ['SmokeMetric', 'FrameAlarmMetric', 'PerSampleMetric']
