"""mmsmoke: smoke segmentation modules for MMSegmentation 1.x.

Importing the package checks the torch/mmcv stack, registers every mmsmoke
module into MMSegmentation's registries and allow-lists mmengine's checkpoint
contents for ``torch.load(weights_only=True)``. Configs enable it with
``custom_imports = dict(imports=['mmsmoke'], allow_failed_imports=False)``.
"""
from .utils.stack_check import check_stack

check_stack()

from .utils.safe_loading import allow_mmengine_globals  # noqa: E402

allow_mmengine_globals()

# Let configs inherit ours as `mmsmoke::_base_/...` (resolved under
# mmsmoke/.mim/configs of the installed package, see setup.py).
from mmengine.config.utils import MODULE2PACKAGE  # noqa: E402

MODULE2PACKAGE.setdefault('mmsmoke', 'mmsmoke')

from . import datasets, evaluation, models, registry  # noqa: E402,F401
from . import visualization  # noqa: E402,F401
from . import engine  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'check_stack', 'allow_mmengine_globals']
