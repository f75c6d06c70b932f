# A short schedule for CPU demos on the embedded synthetic set: AdamW with a
# higher learning rate (the backbone trains from scratch), brief warm-up,
# poly decay over 800 iterations, one checkpoint at the end (kept alone).
# Configs with another length set it in param_scheduler, train_cfg and the
# checkpoint hook (see schedule_cpu_4k.py).
_base_ = ['./iter_hooks.py']
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'pos_block': dict(decay_mult=0.),
        'norm': dict(decay_mult=0.)
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(
        type='PolyLR', eta_min=0.0, power=1.0, begin=50, end=800,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=800, val_interval=800)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=800, max_keep_ckpts=1))
