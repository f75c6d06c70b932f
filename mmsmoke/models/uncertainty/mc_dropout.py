"""Context managers for Monte Carlo dropout sampling."""
from contextlib import contextmanager
from typing import Iterator

from torch import nn


@contextmanager
def mc_dropout_enabled(module: nn.Module) -> Iterator[int]:
    """Put every dropout layer of ``module`` in training mode for a while.

    Everything else (e.g. batch norm) keeps its mode, as MC dropout needs.

    Yields:
        int: The number of dropout layers switched on.
    """
    layers = [
        m for m in module.modules()
        if isinstance(m, nn.modules.dropout._DropoutNd)
    ]
    modes = [m.training for m in layers]
    try:
        for m in layers:
            m.train()
        yield len(layers)
    finally:
        for m, mode in zip(layers, modes):
            m.train(mode)


@contextmanager
def frozen_bn_statistics(module: nn.Module) -> Iterator[None]:
    """Keep batch-norm running statistics unchanged for a while.

    The extra Monte Carlo passes in training run the head in training mode
    (batch statistics, active dropout) and must not update the running
    statistics a second, third, ... time with the same batch.
    """
    layers = [
        m for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]
    saved = [(m.momentum, None if m.num_batches_tracked is None else
              m.num_batches_tracked.clone()) for m in layers]
    try:
        for m in layers:
            m.momentum = 0.0
        yield
    finally:
        for m, (momentum, tracked) in zip(layers, saved):
            m.momentum = momentum
            if tracked is not None:
                m.num_batches_tracked.copy_(tracked)
