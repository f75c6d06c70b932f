# The embedded synthetic smoke set (synthetic_smoke.py) with the early-smoke
# recipe of smoke5k_native.py: crops of the 256x256 images at their native
# scale (x U(0.75, 1.25)) with SmokeAwareCrop, and testing on whole images at
# their native size. Only the data root, the crop size and the loaders differ
# from smoke5k_native.py (both sets have the SMOKE5K layout).
_base_ = ['./smoke5k_native.py']
data_root = 'data/synthetic_smoke'
crop_size = (128, 128)
# smoke5k_native.py's training pipeline with 128x128 crops (the test and
# `--tta` pipelines are smoke5k_native.py's: whole images at native size).
train_pipeline = [
    dict(type='LoadSmokeImageFromFile'),
    dict(type='LoadSmokeAnnotations'),
    dict(type='RandomRescale', ratio_range=(0.75, 1.25)),
    dict(type='SmokeAwareCrop', crop_size=crop_size, smoke_prob=0.75),
    dict(type='SyntheticSmokeOverlay', prob=_base_.overlay_prob),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    num_workers=1, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(num_workers=1, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
