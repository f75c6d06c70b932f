# Light Transmission-BVM on the ImageNet-pretrained EfficientNet-Lite0
# (configs/_base_/models/transbvm_effnet-lite0.py, docs/pretrained.md)
# fine-tuned on SmokeSeg with its 512x512 recipe
# (configs/_base_/datasets/smokeseg.py), 1 GPU x batch 4, the fine-tuning
# schedule of schedule_finetune_1k.py (AdamW, backbone 4e-4, BVM head 5x,
# g_gamma at 0.6x of that as in the paper, warm-up then poly decay over
# 1,000 iterations; scale it with --cfg-options train_cfg.max_iters=N).
# From scratch instead:
#   --cfg-options model.backbone.init_cfg=None
_base_ = [
    '../_base_/models/transbvm_effnet-lite0.py',
    '../_base_/datasets/smokeseg.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_finetune_1k.py'
]
crop_size = (512, 512)
model = dict(data_preprocessor=dict(size=crop_size))
train_dataloader = dict(batch_size=4)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'uncertainty_net': dict(lr_mult=0.6)}))
