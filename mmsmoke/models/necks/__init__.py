from .focus_neck import FocusNeck, FocusOutputs

__all__ = ['FocusNeck', 'FocusOutputs']
