from .metrics import SmokeMetric

__all__ = ['SmokeMetric']
