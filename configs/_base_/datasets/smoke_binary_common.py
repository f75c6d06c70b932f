# What the binary smoke dataset configs share: MMSeg's standard training
# augmentation at 512x512, the test and `--tta` pipelines around the test
# resize, the dataloader settings and SmokeMetric. smoke5k.py and
# smokeseg.py inherit it (synthetic_smoke.py and smoke5k_native.py through
# smoke5k.py) and state what differs: `dataset_type`, `data_root`, other
# sizes or pipelines, and the `dataset` of each dataloader.
#
# mmengine replaces lists instead of merging them, and a value computed here
# keeps the `crop_size`/`test_scale` it was computed with: setting
# `crop_size` or `test_scale` in an inheriting config does not change the
# pipelines below. A config that changes a size or a transform therefore
# spells out each pipeline it changes in full (as smoke5k.py and
# synthetic_smoke.py do) instead of patching the inherited list by index,
# e.g.
#   test_scale = (1024, 512)
#   test_pipeline = [
#       dict(type='LoadImageFromFile'),
#       dict(type='Resize', scale=test_scale, keep_ratio=True),
#       dict(type='LoadSmokeAnnotations'),
#       dict(type='PackSegInputs', meta_keys=_base_.meta_keys)
#   ]
# together with its `--tta` pipeline (the test resize at each of
# `_base_.img_ratios`), and passes the pipelines to its dataloaders.
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'pad_shape', 'scale_factor', 'flip', 'flip_direction',
             'reduce_zero_label', 'size_group')
# Random resize (ratio 0.5-2), 512x512 crops in which no class covers more
# than 75%, flip, photometric distortion.
crop_size = (512, 512)
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
# The mask is loaded after the resize: metrics use the full-resolution
# ground truth, and predictions are resized back to the original image.
# The image loader keeps the stock name, which MMSegInferencer looks for
# (it runs as named); masks are read by LoadSmokeAnnotations, which maps
# {0, 255} to {0, 1} and lets inference inputs without a mask pass. A smoke
# dataset refuses the stock LoadAnnotations (see docs/datasets.md).
test_scale = (512, 512)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=test_scale, keep_ratio=True),
    dict(type='LoadSmokeAnnotations'),
    dict(type='PackSegInputs', meta_keys=meta_keys)
]
# `tools/test.py --tta`: the test resize at 0.75, 1 and 1.25 times the test
# scale (ratio 1 is the test pipeline's resize) and horizontal flips, merged
# by SmokeTTAModel (default_runtime.py).
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
            [dict(type='LoadSmokeAnnotations')],
            [dict(type='PackSegInputs', meta_keys=meta_keys)],
        ])
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
# Validation logs the scalar metrics; the test run also returns (and with
# --out saves) the reliability-diagram bins. threshold=None: the metrics
# score the model's own mask, made with the decode head's `threshold`, so a
# config states its threshold once (model.decode_head.threshold); set the
# evaluator's `threshold` to score another operating point.
val_evaluator = dict(
    type='SmokeMetric', threshold=None, return_reliability_bins=False)
test_evaluator = dict(
    type='SmokeMetric', threshold=None, return_reliability_bins=True)
