# SMOKE5K (Transmission-BVM, AAAI 2022): {train,test}/{img,gt}, jpg images,
# png masks with values {0, 255} mapped to {0, 1} by LoadSmokeAnnotations.
# Prepare with tools/dataset_converters/smoke5k.py (or point data_root at an
# existing copy: --cfg-options train_dataloader.dataset.data_root=... ).
# Pipelines, dataloader settings and metric: smoke_binary_common.py.
_base_ = ['./smoke_binary_common.py']
dataset_type = 'SMOKE5KDataset'
data_root = 'data/SMOKE5K'
# The common training pipeline around 1024x512: random resize with ratio
# 0.5-2, 512x512 crops, flip, photometric distortion.
train_pipeline = _base_.train_pipeline
train_pipeline[2].scale = (1024, 512)
# Test at 1024x512 (aspect ratio kept); `--tta` at 0.75, 1 and 1.25 times it.
test_scale = (1024, 512)
test_pipeline = _base_.test_pipeline
test_pipeline[1].scale = test_scale
tta_pipeline = _base_.tta_pipeline
tta_pipeline[1].transforms[0] = [
    dict(test_pipeline[1], scale=(int(test_scale[0] * r),
                                  int(test_scale[1] * r)))
    for r in _base_.img_ratios
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
