from .dense_aspp import DenseASPP
from .rcab import RCAB, ChannelAttention

__all__ = ['ChannelAttention', 'DenseASPP', 'RCAB']
