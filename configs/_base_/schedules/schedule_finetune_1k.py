# Fine-tuning schedule for an ImageNet-pretrained backbone under a head that
# starts from scratch (the *_effnet-lite0_* configs): AdamW, weight decay
# 0.01, lr 2e-3 for everything but the backbone, which trains at 0.2x
# (4e-4, i.e. the head at 5x the backbone), 50 linear warm-up iterations,
# then poly decay (power 1) to zero at the last iteration; 1,000 iterations
# and one checkpoint at the end (kept alone).
# The PolyLR has no `end`: the runner ends it at train_cfg.max_iters, so
#   --cfg-options train_cfg.max_iters=4000
# lengthens the whole schedule (validation and checkpoints stay every 1,000
# iterations and at the end).
_base_ = ['./iter_hooks.py']
max_iters = 1000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.2)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=50, by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
