from .focus_neck import FocusNeck

__all__ = ['FocusNeck']
