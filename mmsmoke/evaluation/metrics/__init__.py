from .smoke_metric import SmokeMetric

__all__ = ['SmokeMetric']
