from .bvm_encoder_decoder import BVMEncoderDecoder
from .transmission_encoder_decoder import TransmissionEncoderDecoder

__all__ = ['BVMEncoderDecoder', 'TransmissionEncoderDecoder']
