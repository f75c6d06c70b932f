from .size_groups import SIZE_GROUPS, SIZE_THRESHOLDS, size_group
from .stack_check import StackError, check_stack

__all__ = [
    'SIZE_GROUPS', 'SIZE_THRESHOLDS', 'size_group', 'StackError', 'check_stack'
]
