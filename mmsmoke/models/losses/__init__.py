from .alpha_prior_loss import AlphaPriorLoss
from .binary_dice_loss import BinaryDiceLoss
from .image_formation_loss import ImageFormationLoss
from .inpainting_loss import InpaintingLoss
from .pixel_losses import PixelLosses
from .structure_loss import StructureLoss
from .transmission_coherence_loss import TransmissionCoherenceLoss
from .uncertainty_calibrated_entropy_loss import \
    UncertaintyCalibratedEntropyLoss

__all__ = [
    'AlphaPriorLoss', 'BinaryDiceLoss', 'ImageFormationLoss', 'InpaintingLoss',
    'PixelLosses', 'StructureLoss', 'TransmissionCoherenceLoss',
    'UncertaintyCalibratedEntropyLoss'
]
