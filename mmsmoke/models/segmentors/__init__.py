from .bvm_encoder_decoder import BVMEncoderDecoder
from .fosp_encoder_decoder import FoSpEncoderDecoder
from .smoke_encoder_decoder import SmokeEncoderDecoder
from .smoke_tta_model import SmokeTTAModel
from .transmission_encoder_decoder import TransmissionEncoderDecoder

__all__ = [
    'BVMEncoderDecoder', 'FoSpEncoderDecoder', 'SmokeEncoderDecoder',
    'SmokeTTAModel', 'TransmissionEncoderDecoder'
]
