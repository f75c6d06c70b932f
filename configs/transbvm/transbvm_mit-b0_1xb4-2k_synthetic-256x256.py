# Light CPU variant of Transmission-BVM (configs/_base_/models/
# transbvm_mit-b0.py) for the embedded synthetic smoke set: 2,000 iterations
# of batch 4 at 256x256 on one process.
_base_ = [
    '../_base_/models/transbvm_mit-b0.py',
    '../_base_/datasets/synthetic_smoke.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_cpu_demo.py'
]
max_iters = 2000
# batches padded to the dataset's 256x256 crops
model = dict(data_preprocessor=dict(size=_base_.crop_size))
# AdamW 1e-3 with warm-up and poly decay (schedule_cpu_demo) over 2,000
# iterations; g_gamma at 0.6x the generator's rate as in the paper.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'uncertainty_net': dict(lr_mult=0.6)}))
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
default_hooks = dict(checkpoint=dict(interval=max_iters))
