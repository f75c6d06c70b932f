# SmokeSeg (FoSp, AAAI 2024), PASCAL VOC layout: JPEGImages/, palette-PNG
# SegmentationClass/ with indices {0, 1}, ImageSets/Segmentation/*.txt with
# train/val/test and the test_small/medium/large subsets (the metric reports
# the size breakdown from them). Prepare with
# tools/dataset_converters/smokeseg.py.
# Pipelines, dataloader settings and metric: smoke_binary_common.py.
_base_ = ['./smoke_binary_common.py']
dataset_type = 'SmokeSegDataset'
data_root = 'data/SmokeSeg'
# FoSp's release is the common 512x512 recipe: resize 512 with ratio 0.5-2,
# crop 512 (cat_max_ratio 0.75), flip, photometric distortion; test at
# 512x512 with the aspect ratio kept (and `--tta` around it).
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        pipeline=_base_.train_pipeline))
# the same dataset on the val and test splits with the test pipeline
val_dataloader = dict(
    dataset=dict(
        train_dataloader['dataset'],
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=_base_.test_pipeline))
test_dataloader = dict(
    dataset=dict(
        val_dataloader['dataset'], ann_file='ImageSets/Segmentation/test.txt'))
# SmokeMetric scores the model's own mask (threshold=None in
# smoke_binary_common.py): the decode head's threshold, 0.5 unless the
# method's own setting says otherwise (FoSp: probability > 0.4).
