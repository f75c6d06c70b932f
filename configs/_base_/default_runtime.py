# Runtime shared by every mmsmoke config.
# `custom_imports` registers mmsmoke's modules into MMSegmentation's
# registries, so the stock tools (train/test/inference) find them.
custom_imports = dict(imports=['mmsmoke'], allow_failed_imports=False)
default_scope = 'mmseg'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; CPU-only runs use
    # --cfg-options env_cfg.dist_cfg.backend=gloo
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer',
    vis_backends=vis_backends,
    name='visualizer',
    alpha=0.5)
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
# default_hooks (logging, checkpoints, visualization): schedules/, where
# the checkpoint interval follows the schedule's length, as in MMSeg.
# `tools/test.py --tta`: the dataset configs define `tta_pipeline`;
# SmokeTTAModel averages the views' probabilities and maps (MMSeg's
# SegTTAModel applies a second sigmoid to one-channel probabilities).
tta_model = dict(type='SmokeTTAModel')
# Saves torch's random state in checkpoints so that `--resume` continues
# exactly where the run stopped (mmengine re-seeds instead); see
# docs/reliability.md.
custom_hooks = [dict(type='RNGStateHook')]
