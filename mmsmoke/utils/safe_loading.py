"""Checkpoint loading under ``torch.load(weights_only=True)``.

torch >= 2.6 unpickles with ``weights_only=True`` unless the caller says
otherwise, and mmengine 0.10.7 does not pass the argument. Its checkpoints
hold more than tensors: the message hub's :class:`HistoryBuffer` logs (numpy
arrays), numpy scalars and dtypes in the runtime info, and ``ConfigDict``
entries. Loading them, as ``--resume``, ``load_from``, ``tools/test.py`` and
``init_model`` do, then fails with *Unsupported global*.

Rather than turning the protection off (``weights_only=False`` or
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``), :func:`allow_mmengine_globals` adds
exactly these data-only types to torch's allow-list. Anything else a
checkpoint may carry, in particular a pickled callable, is still refused.

One mmengine type needs more than an allow-list entry: ``HistoryBuffer``
pickles its class-level statistics functions (``min``, ``max``, ``mean``,
``current``), which protocol 2 writes as ``getattr(HistoryBuffer, 'min')``.
Allowing ``getattr`` would open the loader to arbitrary attribute chains, so
instead the checkpoint hooks of mmsmoke (``AtomicCheckpointHook``) hand the
runner's message-hub logs to :func:`data_only_logs` before a checkpoint is
written: each buffer becomes a :class:`DataOnlyHistoryBuffer`, a
``HistoryBuffer`` that pickles only its data (the functions are class
attributes and come back on load through mmengine's own ``__setstate__``).
mmengine's class itself is left as it is. A checkpoint written through a
plain ``CheckpointHook`` still carries the ``getattr`` reference and is
refused; :func:`resave_trusted_checkpoint` rewrites such a file once, for a
source the user trusts.
"""
from typing import List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

_REGISTERED = False


class DataOnlyHistoryBuffer(HistoryBuffer):
    """A ``HistoryBuffer`` whose pickle holds its data only.

    mmengine's ``__getstate__`` writes the class-level function table into
    the instance ``__dict__`` (and so into the pickle, as ``getattr``
    references). This one returns a copy of the data and leaves ``self``
    alone; ``HistoryBuffer.__setstate__`` restores the functions on load.
    """

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop('statistics_methods', None)
        return state

    def __reduce__(self):
        # pickled as a call of mmengine's own class on the data, so a file
        # names neither getattr nor this class (it loads without mmsmoke)
        log_history, count_history = self.data
        return (HistoryBuffer, (log_history, count_history, self.max_length))


def data_only_logs(message_hub_state: dict) -> dict:
    """A message-hub state whose log buffers pickle their data only.

    Args:
        message_hub_state (dict): ``MessageHub.state_dict()`` (as in
            ``checkpoint['message_hub']``).

    Returns:
        dict: The same state, its ``log_scalars`` buffers copied into
        :class:`DataOnlyHistoryBuffer` (same data and ``max_length``); the
        runner's own buffers are untouched.
    """
    scalars = message_hub_state.get('log_scalars')
    if not scalars:
        return message_hub_state
    logs = {}
    for key, buffer in scalars.items():
        if isinstance(buffer, HistoryBuffer) and not isinstance(
                buffer, DataOnlyHistoryBuffer):
            log_history, count_history = buffer.data
            buffer = DataOnlyHistoryBuffer(log_history, count_history,
                                           buffer.max_length)
        logs[key] = buffer
    return dict(message_hub_state, log_scalars=logs)


def _numpy_globals() -> List[object]:
    """Numpy reconstructors and types that appear in pickled arrays."""
    # numpy 2 moved ``numpy.core`` to ``numpy._core``; pickles name the
    # module they were written with, so allow whichever this numpy has.
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
        np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)]
    return [_reconstruct, scalar, np.ndarray, np.dtype] + dtype_classes


def mmengine_safe_globals() -> List[object]:
    """The data-only types mmengine writes into a checkpoint.

    Returns:
        list: Classes and reconstructors for
        :func:`torch.serialization.add_safe_globals`.
    """
    from mmengine.config import ConfigDict
    # HistoryBuffer: the data-only pickles of earlier mmsmoke releases
    return [DataOnlyHistoryBuffer, HistoryBuffer, ConfigDict
            ] + _numpy_globals()


def allow_mmengine_globals() -> bool:
    """Allow-list mmengine's checkpoint contents for ``weights_only`` loads.

    Idempotent. Does nothing on a torch without ``add_safe_globals`` (before
    2.4), where ``weights_only`` is not the default anyway.

    Returns:
        bool: Whether the allow-list is in place.
    """
    global _REGISTERED
    if _REGISTERED:
        return True
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return False
    add(mmengine_safe_globals())
    _REGISTERED = True
    return True


def resave_trusted_checkpoint(src: str, dst: str) -> None:
    """Rewrite a checkpoint YOU TRUST so it loads with ``weights_only=True``.

    Loads ``src`` with full unpickling (which can run code from the file:
    only for files from a trusted source) and saves it to ``dst`` with its
    message-hub logs in :class:`DataOnlyHistoryBuffer`
    (:func:`data_only_logs`).

    Args:
        src (str): Checkpoint written by plain mmengine.
        dst (str): Where to write the rewritten checkpoint.
    """
    allow_mmengine_globals()
    ckpt = torch.load(src, map_location='cpu', weights_only=False)
    if isinstance(ckpt, dict) and isinstance(ckpt.get('message_hub'), dict):
        ckpt['message_hub'] = data_only_logs(ckpt['message_hub'])
    torch.save(ckpt, dst)
