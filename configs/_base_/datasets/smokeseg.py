# SmokeSeg (FoSp, AAAI 2024), PASCAL VOC layout: JPEGImages/, palette-PNG
# SegmentationClass/ with indices {0, 1}, ImageSets/Segmentation/*.txt with
# train/val/test and the test_small/medium/large subsets (the metric reports
# the size breakdown from them). Prepare with
# tools/dataset_converters/smokeseg.py.
dataset_type = 'SmokeSegDataset'
data_root = 'data/SmokeSeg'
crop_size = (512, 512)
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'pad_shape', 'scale_factor', 'flip', 'flip_direction',
             'reduce_zero_label', 'size_group')
# FoSp's release: resize 512 with ratio 0.5-2, crop 512 (cat_max_ratio
# 0.75), flip, photometric distortion.
train_pipeline = [
    dict(type='LoadSmokeImageFromFile'),
    dict(type='LoadSmokeAnnotations'),
    dict(
        type='RandomResize',
        scale=(512, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
# Stock loader names, which MMSegInferencer and mmseg.apis.inference_model
# look for; the smoke dataset runs them as LoadSmokeImageFromFile and
# LoadSmokeAnnotations (strict_loading, see docs/datasets.md).
test_scale = (512, 512)
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
        ann_file='ImageSets/Segmentation/train.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/test.txt',
        pipeline=test_pipeline))
# FoSp evaluates at probability > 0.4 (its config); this package's configs
# use 0.5 unless the method's own setting says otherwise.
# Validation logs the scalar metrics; the test run also returns (and with
# --out saves) the reliability-diagram bins.
val_evaluator = dict(
    type='SmokeMetric', threshold=0.5, return_reliability_bins=False)
test_evaluator = dict(
    type='SmokeMetric', threshold=0.5, return_reliability_bins=True)
