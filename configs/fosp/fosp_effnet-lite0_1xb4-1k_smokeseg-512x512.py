# Light FoSp on the ImageNet-pretrained EfficientNet-Lite0
# (configs/_base_/models/fosp_effnet-lite0.py, docs/pretrained.md)
# fine-tuned on SmokeSeg with its 512x512 recipe
# (configs/_base_/datasets/smokeseg.py), 1 GPU x batch 4, the fine-tuning
# schedule of schedule_finetune_1k.py (AdamW, backbone 4e-4, Focus neck,
# Separation and head 5x, warm-up then poly decay over 1,000 iterations;
# scale it with --cfg-options train_cfg.max_iters=N), test threshold 0.4
# as in FoSp's release. From scratch instead:
#   --cfg-options model.backbone.init_cfg=None
_base_ = [
    '../_base_/models/fosp_effnet-lite0.py', '../_base_/datasets/smokeseg.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_finetune_1k.py'
]
crop_size = (512, 512)
model = dict(data_preprocessor=dict(size=crop_size))
train_dataloader = dict(batch_size=4)
