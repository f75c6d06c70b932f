"""Check the torch/mmcv/mmseg stack and run one compiled mmcv op.

    python tools/misc/check_stack.py [--quiet]

Exits non-zero with a message that names each problem and its fix.
"""
import sys

from mmsmoke.utils.stack_check import main

if __name__ == '__main__':
    sys.exit(main())
