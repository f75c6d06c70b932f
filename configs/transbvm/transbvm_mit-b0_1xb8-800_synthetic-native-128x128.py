# The earlier README main job (before the pretrained
# transbvm_effnet-lite0_1xb8-800_synthetic-native-128x128.py, which beat it on
# every figure of the synthetic test set): light Transmission-BVM
# (configs/_base_/models/
# transbvm_mit-b0.py, MiT-B0 trained FROM SCRATCH, no pretrained weights, no
# network) on the embedded synthetic smoke set with the early-smoke recipe
# (configs/_base_/datasets/synthetic_smoke_native.py): 128x128 crops of the
# 256x256 images at their native scale with SmokeAwareCrop, so that small
# plumes are cropped as often as large ones, and testing on whole images at
# their native size. Batch 8, 800 iterations, AdamW 2e-3 as the earlier light
# FoSp main job (configs/fosp/fosp_mit-b0_1xb8-800_synthetic-128x128.py),
# which squashes whole images to 128x128 for training and testing.
# Light Trans-BVM has the best Fbeta-max and the only small-plume IoU of the
# early_smoke ablation on real SMOKE5K images (docs/fosp.md, "Early smoke on
# real images").
_base_ = [
    '../_base_/models/transbvm_mit-b0.py',
    '../_base_/datasets/synthetic_smoke_native.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_cpu_demo.py'
]
# batches padded to the dataset's 128x128 crops
model = dict(data_preprocessor=dict(size=_base_.crop_size))
train_dataloader = dict(batch_size=8)
# g_gamma at 0.6x the generator's rate as in the paper
optim_wrapper = dict(
    optimizer=dict(lr=2e-3),
    paramwise_cfg=dict(custom_keys={'uncertainty_net': dict(lr_mult=0.6)}))
