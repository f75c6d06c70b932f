from .mc_dropout import frozen_bn_statistics, mc_dropout_enabled
from .uncertainty_net import (UncertaintyEstimationNet, binary_entropy,
                              mc_uncertainty)

__all__ = [
    'UncertaintyEstimationNet', 'binary_entropy', 'mc_uncertainty',
    'frozen_bn_statistics', 'mc_dropout_enabled'
]
