# The hooks of every iteration-based schedule (schedule_40k.py,
# schedule_cpu_demo.py): timing, a log line every 50 iterations, the
# learning-rate schedule, checkpoints (each schedule sets the interval),
# the sampler seed and the visualization hook (`tools/test.py --show-dir`).
# AtomicCheckpointHook is mmengine's CheckpointHook (same arguments, same
# files) with saves that a killed run cannot truncate or lose, so `--resume`
# always finds a complete checkpoint (docs/reliability.md).
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='AtomicCheckpointHook', by_epoch=False, interval=4000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
