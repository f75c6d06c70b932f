# Fast CPU model for the embedded synthetic smoke set: a small full-
# resolution U-Net trained FROM SCRATCH on whole images resized to 96x96,
# batch 12, 1,000 iterations (about 3 minutes on 2 CPU cores). Smoke pixels
# get weight 5 in the BCE (pos_weight; smoke covers ~3.5% of the pixels).
# Predictions are resized back to the original 256x256 for evaluation.
_base_ = [
    '../_base_/models/unet-s3-d4_fcn_binary.py',
    '../_base_/datasets/synthetic_smoke.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_cpu_demo.py'
]
img_scale = (96, 96)
model = dict(
    data_preprocessor=dict(size=img_scale),
    decode_head=dict(
        loss_decode=dict(class_weight=[5.0])))  # BCE pos_weight
train_pipeline = [
    dict(type='LoadSmokeImageFromFile'),
    dict(type='LoadSmokeAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
# Test on whole images resized to img_scale as in training, `--tta` at 0.75, 1
# and 1.25 times it with horizontal flips (the mask loaded after the resize,
# meta_keys and img_ratios: smoke_binary_common.py).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadSmokeAnnotations'),
    dict(type='PackSegInputs', meta_keys=_base_.meta_keys)
]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(
                    type='Resize',
                    scale=(int(img_scale[0] * r), int(img_scale[1] * r)),
                    keep_ratio=False) for r in _base_.img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ],
            [dict(type='LoadSmokeAnnotations')],
            [dict(type='PackSegInputs', meta_keys=_base_.meta_keys)],
        ])
]
train_dataloader = dict(batch_size=12, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=2e-3, weight_decay=1e-4))
max_iters = 1000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=30),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=30,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
