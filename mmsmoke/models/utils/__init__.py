from .bvm_blocks import (RCAB, DenseASPP, LatentEncoder,
                         gaussian_kl_to_standard_normal)
from .image_ops import denormalize_inputs
from .one_channel import (OneChannelAuxiliaryMixin, auxiliary_head_losses,
                          check_one_channel_losses, fix_binary_acc_seg,
                          head_accuracy, seg_accuracy)
from .transmission import (atmospheric_light, dark_channel,
                           estimate_transmission, transmission_from_inputs)
from .uncertainty_net import (UncertaintyEstimationNet, binary_entropy,
                              mc_uncertainty)

__all__ = [
    'seg_accuracy', 'head_accuracy', 'fix_binary_acc_seg',
    'auxiliary_head_losses', 'check_one_channel_losses',
    'OneChannelAuxiliaryMixin', 'denormalize_inputs', 'dark_channel',
    'atmospheric_light', 'estimate_transmission', 'transmission_from_inputs',
    'UncertaintyEstimationNet', 'binary_entropy', 'mc_uncertainty',
    'LatentEncoder', 'RCAB', 'DenseASPP', 'gaussian_kl_to_standard_normal'
]
