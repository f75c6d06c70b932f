from .alarm import SmokeAlarm
from .frame_summary import FrameSummary, presence_score, summarize_prediction
from .inference import (build_inference_pipeline, build_model,
                        default_device, inference_model,
                        inference_pipeline_cfg, init_model, load_config,
                        model_threshold, offline_config)
from .result_writer import (ERROR_COLUMNS, FRAME_STATUSES, OUTPUT_KINDS,
                            SmokeResultWriter, frame_failed)
from .smoke_inferencer import SmokeInferencer

__all__ = [
    'SmokeAlarm', 'FrameSummary', 'presence_score', 'summarize_prediction',
    'build_inference_pipeline', 'build_model', 'load_config',
    'offline_config',
    'default_device', 'inference_model',
    'inference_pipeline_cfg', 'init_model', 'model_threshold', 'OUTPUT_KINDS',
    'FRAME_STATUSES', 'ERROR_COLUMNS', 'frame_failed', 'SmokeResultWriter',
    'SmokeInferencer'
]
