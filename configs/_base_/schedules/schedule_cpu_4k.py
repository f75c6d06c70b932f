# The CPU schedule (schedule_cpu_demo.py: AdamW 1e-3, 50 warm-up
# iterations, poly decay) over 4,000 iterations, for the native-resolution
# SMOKE5K configs, with a checkpoint every 500 iterations (the last kept).
_base_ = ['./schedule_cpu_demo.py']
max_iters = 4000
# the same warm-up and poly decay, ending at max_iters
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=50,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=500))
