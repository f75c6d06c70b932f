from .structure_loss import StructureLoss
from .transmission_coherence_loss import TransmissionCoherenceLoss
from .uncertainty_calibrated_entropy_loss import \
    UncertaintyCalibratedEntropyLoss

__all__ = [
    'StructureLoss', 'TransmissionCoherenceLoss',
    'UncertaintyCalibratedEntropyLoss'
]
