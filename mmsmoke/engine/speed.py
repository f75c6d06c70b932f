"""Speed options: how a segmentor runs on the device, not what it computes.

* :func:`to_channels_last`: 4-D weights and the pre-processed input batch in
  ``torch.channels_last`` (NHWC) layout, which tensor-core convolutions
  prefer; ``tools/train.py --channels-last`` applies it through
  :class:`~mmsmoke.engine.hooks.ChannelsLastHook`.
* :func:`compile_submodules`: ``torch.compile`` on the forward of each part
  of a segmentor (backbone, neck, heads, FoSp's separation, Trans-BVM's
  uncertainty network), for ``tools/test.py --compile``.

Both change neither the parameter names nor the results beyond floating
point rounding, so checkpoints move freely between runs with and without
them. ``docs/gpu.md`` says what each was measured to gain.
"""
from typing import Dict, List, Optional, Union

import torch
from torch import nn

#: Attribute set on a model converted by :func:`to_channels_last`.
_CHANNELS_LAST_FLAG = '_mmsmoke_channels_last_handle'
#: Attribute set on a segmentor compiled by :func:`compile_submodules`.
_COMPILED_FLAG = '_mmsmoke_compiled_parts'


def unwrap_segmentor(model: nn.Module) -> nn.Module:
    """The segmentor inside a runner's model.

    Removes a model wrapper (``MMDistributedDataParallel`` and the like)
    and a test-time-augmentation wrapper (``BaseTTAModel``, whose
    ``module`` is the segmentor).

    Args:
        model (nn.Module): ``runner.model`` or a segmentor.

    Returns:
        nn.Module: The segmentor (the model itself when unwrapped).
    """
    from mmengine.model import BaseTTAModel, is_model_wrapper
    if is_model_wrapper(model):
        model = model.module
    if isinstance(model, BaseTTAModel):
        model = model.module
    return model


class _ChannelsLastHandle:
    """Undoes :func:`to_channels_last` (``remove()``)."""

    def __init__(self, model: nn.Module, hook_handle) -> None:
        self.model = model
        self.hook_handle = hook_handle

    def remove(self) -> None:
        """Remove the input hook and make the weights contiguous again."""
        self.hook_handle.remove()
        self.model.to(memory_format=torch.contiguous_format)
        if getattr(self.model, _CHANNELS_LAST_FLAG, None) is self:
            delattr(self.model, _CHANNELS_LAST_FLAG)


def _channels_last_inputs(module: nn.Module, args, output):
    """Forward hook of a data pre-processor: 4-D inputs to NHWC."""
    if isinstance(output, dict):
        inputs = output.get('inputs')
        if isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
            output['inputs'] = inputs.contiguous(
                memory_format=torch.channels_last)
    return output


def to_channels_last(model: nn.Module) -> _ChannelsLastHandle:
    """Run a segmentor in the ``torch.channels_last`` memory format.

    Converts every 4-D parameter and buffer in place (the parameter
    objects stay the same, so an optimiser built before keeps working, and
    ``state_dict`` names are unchanged) and registers a forward hook on the
    model's ``data_preprocessor`` that makes the 4-D ``inputs`` it returns
    channels_last, in training, validation and testing alike. Calling it
    again on the same model does nothing more.

    Convert before wrapping the model for distributed training where
    possible: with a model converted after DDP was built, the results are
    the same, but DDP warns at the first backward that the gradient
    strides do not match its bucket views (a performance note).

    On the CPU, torch 2.15 corrupts memory in the channels_last backward of
    some strided 1x1 convolutions with few channels (8 to 16 channels,
    stride 2 crashes; 64 to 128 does not): the option is meant for GPUs.

    Args:
        model (nn.Module): A segmentor (``BaseModel``) with a
            ``data_preprocessor``, or a wrapper of one (see
            :func:`unwrap_segmentor`).

    Returns:
        The handle; its ``remove()`` undoes the conversion.

    Raises:
        TypeError: If the model has no ``data_preprocessor`` module.
    """
    model = unwrap_segmentor(model)
    existing = getattr(model, _CHANNELS_LAST_FLAG, None)
    if existing is not None:
        return existing
    preprocessor = getattr(model, 'data_preprocessor', None)
    if not isinstance(preprocessor, nn.Module):
        raise TypeError(
            f'to_channels_last: {type(model).__name__} has no '
            '`data_preprocessor` module to make the inputs channels_last; '
            'it needs an mmengine BaseModel (a segmentor built from '
            '`model` of an MMSeg config)')
    model.to(memory_format=torch.channels_last)
    handle = _ChannelsLastHandle(
        model, preprocessor.register_forward_hook(_channels_last_inputs))
    setattr(model, _CHANNELS_LAST_FLAG, handle)
    return handle


def compile_submodules(
        model: nn.Module,
        compile_cfg: Optional[Union[bool, Dict]] = None) -> List[str]:
    """``torch.compile`` the forward of each part of a segmentor, in place.

    Every direct child module except the ``data_preprocessor`` and
    containers (``ModuleList``/``ModuleDict``, e.g. several auxiliary heads)
    gets ``child.forward = torch.compile(child.forward, **compile_cfg)``:
    the backbone, the neck, the decode head (whose ``predict`` calls
    ``forward`` directly, so compiling ``__call__`` alone would miss it),
    and mmsmoke's extra parts (FoSp's ``separation``, Trans-BVM's
    ``uncertainty_net``). Data samples, image metadata and the
    post-processing stay in eager mode, so the compiled code sees tensors
    only and is not recompiled for every image name. Parameter names are
    unchanged (unlike ``torch.compile(module)``, whose ``state_dict`` keys
    gain an ``_orig_mod.`` prefix), so checkpoints load before or after.

    The compilation itself happens at the first call of each part and for
    each new input shape (the first batches are slow).

    Args:
        model (nn.Module): A segmentor or a wrapper of one (see
            :func:`unwrap_segmentor`).
        compile_cfg (bool | dict, optional): ``torch.compile`` keyword
            arguments (``mode``, ``backend``, ``dynamic``, ``fullgraph``,
            ``options``); None or True use torch's defaults, False
            compiles nothing. The same form as mmengine's ``cfg.compile``.

    Returns:
        list[str]: Names of the compiled parts (empty for False, or when
        the model was compiled before).

    Raises:
        TypeError: If ``compile_cfg`` is neither a bool, a dict nor None.
        RuntimeError: If this torch has no ``torch.compile``.
    """
    if compile_cfg is False:
        return []
    if compile_cfg is None or compile_cfg is True:
        kwargs = {}
    elif isinstance(compile_cfg, dict):
        kwargs = dict(compile_cfg)
    else:
        raise TypeError('compile options must be a bool or a dict of '
                        'torch.compile arguments (config key `compile`), '
                        f'got {type(compile_cfg).__name__}')
    if not hasattr(torch, 'compile'):
        raise RuntimeError(f'torch {torch.__version__} has no torch.compile '
                           '(it needs torch >= 2.0)')
    model = unwrap_segmentor(model)
    if getattr(model, _COMPILED_FLAG, None):
        return []
    names = []
    for name, child in model.named_children():
        if name == 'data_preprocessor' or isinstance(
                child, (nn.ModuleList, nn.ModuleDict)):
            continue
        child.forward = torch.compile(child.forward, **kwargs)
        names.append(name)
    setattr(model, _COMPILED_FLAG, tuple(names))
    return names
