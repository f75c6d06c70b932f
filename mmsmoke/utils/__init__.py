from .metainfo import whole_image_meta
from .size_groups import SIZE_GROUPS, SIZE_THRESHOLDS, size_group
from .set_env import register_all_modules
from .stack_check import StackError, check_stack

__all__ = [
    'SIZE_GROUPS', 'SIZE_THRESHOLDS', 'size_group', 'StackError',
    'check_stack', 'register_all_modules', 'whole_image_meta'
]
