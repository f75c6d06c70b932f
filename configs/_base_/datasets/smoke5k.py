# SMOKE5K (Transmission-BVM, AAAI 2022): {train,test}/{img,gt}, jpg images,
# png masks with values {0, 255} mapped to {0, 1} by LoadSmokeAnnotations.
# Prepare with tools/dataset_converters/smoke5k.py (or point data_root at an
# existing copy: --cfg-options train_dataloader.dataset.data_root=... ).
dataset_type = 'SMOKE5KDataset'
data_root = 'data/SMOKE5K'
crop_size = (512, 512)
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'pad_shape', 'scale_factor', 'flip', 'flip_direction',
             'reduce_zero_label', 'size_group')
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
# The mask is loaded after the resize: metrics use the full-resolution
# ground truth, and predictions are resized back to the original image.
# Stock loader names, which MMSegInferencer and mmseg.apis.inference_model
# look for; the smoke dataset runs them as LoadSmokeImageFromFile and
# LoadSmokeAnnotations (strict_loading, see docs/datasets.md).
test_scale = (1024, 512)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=test_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs', meta_keys=meta_keys)
]
# `tools/test.py --tta`: the test scale times 0.75, 1 and 1.25 (ratio 1 is
# the test pipeline's resize) and horizontal flips, merged by SmokeTTAModel
# (default_runtime.py).
img_ratios = [0.75, 1.0, 1.25]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(
                    type='Resize',
                    scale=(int(test_scale[0] * r), int(test_scale[1] * r)),
                    keep_ratio=True) for r in img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ],
            [dict(type='LoadAnnotations')],
            [dict(type='PackSegInputs', meta_keys=meta_keys)],
        ])
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='train/img', seg_map_path='train/gt'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='test/img', seg_map_path='test/gt'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# Validation logs the scalar metrics; the test run also returns (and with
# --out saves) the reliability-diagram bins.
val_evaluator = dict(
    type='SmokeMetric', threshold=0.5, return_reliability_bins=False)
test_evaluator = dict(
    type='SmokeMetric', threshold=0.5, return_reliability_bins=True)
