# The README demo: light FoSp (MiT-B0 widths, trained FROM SCRATCH, no
# pretrained weights, no network) on the embedded synthetic smoke set, whole
# images resized to 128x128, batch 8, 800 iterations on one process (about
# 5 minutes on 2 CPU cores). The higher learning rate (2e-3 instead of the
# CPU schedule's 1e-3) suits the from-scratch backbone at this batch size.
# Predictions are resized back to the original 256x256 for evaluation.
_base_ = ['./fosp_mit-b0_1xb4-800_synthetic-256x256.py']
img_scale = (128, 128)
model = dict(data_preprocessor=dict(size=img_scale))
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
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=2e-3))
