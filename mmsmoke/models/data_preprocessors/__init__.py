from .smoke_data_preprocessor import IMAGE_FIELD, SmokeDataPreProcessor

__all__ = ['IMAGE_FIELD', 'SmokeDataPreProcessor']
