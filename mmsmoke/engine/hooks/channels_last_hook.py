"""Train (and validate) in the channels_last memory format."""
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmseg.registry import HOOKS
from ..speed import to_channels_last


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Convert the model and its input batches to ``torch.channels_last``.

    At ``before_run`` the segmentor's 4-D weights are converted in place
    and its data pre-processor is made to hand over NHWC batches
    (:func:`mmsmoke.engine.speed.to_channels_last`). It runs before the
    weights are initialised or loaded, which keep the layout. Checkpoints
    hold the same names and values as without the hook; only the memory
    layout of their 4-D tensors differs, which loading ignores.

    ``tools/train.py --channels-last`` adds this hook; a config can add it
    itself::

        custom_hooks = [dict(type='ChannelsLastHook')]

    Under distributed training the model is already wrapped at
    ``before_run``; DDP then warns at the first backward that the gradient
    strides do not match its bucket views (a performance note; the results
    are the same, see ``docs/gpu.md``).
    """

    priority = 'VERY_HIGH'  # before any hook that copies the model (EMA)

    def before_run(self, runner) -> None:
        to_channels_last(runner.model)
        print_log(
            'ChannelsLastHook: model weights and input batches use the '
            'channels_last memory format',
            logger='current')
