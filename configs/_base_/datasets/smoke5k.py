# SMOKE5K (Transmission-BVM, AAAI 2022): {train,test}/{img,gt}, jpg images,
# png masks with values {0, 255} mapped to {0, 1} by LoadSmokeAnnotations.
# Prepare with tools/dataset_converters/smoke5k.py (or point data_root at an
# existing copy: --cfg-options train_dataloader.dataset.data_root=... ).
# Dataloader settings, metric and the pipelines' shared parts (meta_keys,
# img_ratios): smoke_binary_common.py.
_base_ = ['./smoke_binary_common.py']
dataset_type = 'SMOKE5KDataset'
data_root = 'data/SMOKE5K'
# The common training pipeline around 1024x512: random resize with ratio
# 0.5-2, 512x512 crops in which no class covers more than 75%, flip,
# photometric distortion.
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadSmokeImageFromFile'),
    dict(type='LoadSmokeAnnotations'),
    dict(
        type='RandomResize',
        scale=(1024, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
# Test at 1024x512 (aspect ratio kept); `--tta` at 0.75, 1 and 1.25 times it
# with horizontal flips. The mask is loaded after the resize (full-resolution
# ground truth; the stock loader names: smoke_binary_common.py).
test_scale = (1024, 512)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=test_scale, keep_ratio=True),
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
                    scale=(int(test_scale[0] * r), int(test_scale[1] * r)),
                    keep_ratio=True) for r in _base_.img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ],
            [dict(type='LoadSmokeAnnotations')],
            [dict(type='PackSegInputs', meta_keys=_base_.meta_keys)],
        ])
]
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='train/img', seg_map_path='train/gt'),
        pipeline=train_pipeline))
# the same dataset on test/ with the test pipeline
val_dataloader = dict(
    dataset=dict(
        train_dataloader['dataset'],
        data_prefix=dict(img_path='test/img', seg_map_path='test/gt'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
