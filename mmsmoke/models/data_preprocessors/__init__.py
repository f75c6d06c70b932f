from .smoke_data_preprocessor import SmokeDataPreProcessor

__all__ = ['SmokeDataPreProcessor']
