# SMOKE5K, early-smoke recipe: train on crops at the native resolution and
# test on whole images at the native resolution (docs/datasets.md,
# "Early-smoke recipe"). The published masks are small (median 0.33% of the
# image): squashing a 640x480 frame to 256x256 leaves a small plume a few
# pixels, so nothing here resizes to a fixed size.
#   RandomRescale     native size x U(0.75, 1.25)
#   SmokeAwareCrop    384x384 crops; with probability 0.75 the crop holds a
#                     pixel of a smoke component drawn uniformly (tiny plumes
#                     are found as often as large ones)
#   SyntheticSmokeOverlay  procedural thin/small smoke and distractors on
#                     real scenes; off here (prob 0), switched on by the
#                     configs and the benchmark variants that use it
# Models that test on these whole images use test_cfg mode 'slide' with
# 640x640 windows: a 640x480 frame is one window, larger frames are tiled at
# their native resolution.
_base_ = ['./smoke5k.py']
crop_size = (384, 384)
overlay_prob = 0.0
train_pipeline = [
    dict(type='LoadSmokeImageFromFile'),
    dict(type='LoadSmokeAnnotations'),
    dict(type='RandomRescale', ratio_range=(0.75, 1.25)),
    dict(type='SmokeAwareCrop', crop_size=crop_size, smoke_prob=0.75),
    dict(type='SyntheticSmokeOverlay', prob=overlay_prob),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
# scale_factor=1.0 keeps the native size; `--tta` resizes by 0.75, 1 and
# 1.25 (the ratio-1 view is the test resize) with horizontal flips.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale_factor=1.0, keep_ratio=True),
    dict(type='LoadSmokeAnnotations'),
    dict(type='PackSegInputs', meta_keys=_base_.meta_keys)
]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale_factor=r, keep_ratio=True)
                for r in _base_.img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ],
            [dict(type='LoadSmokeAnnotations')],
            [dict(type='PackSegInputs', meta_keys=_base_.meta_keys)],
        ])
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# the 640x640 test windows of the models that use this recipe
native_test_cfg = dict(mode='slide', crop_size=(640, 640), stride=(480, 480))
