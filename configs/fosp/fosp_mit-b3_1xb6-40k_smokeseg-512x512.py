# FoSp MiT-B3 on SmokeSeg: the released recipe (config/fosp_config.py) --
# 1 GPU x batch 6, 512x512 crops, AdamW 6e-5, weight decay 0.01, lr x10 on
# the newly initialised parts (the release's FOSP head holds Focus,
# Separation and Fusion, so all three get x10), poly (power 1) after 1,500
# linear warm-up iterations, 40k iterations, test threshold 0.4.
_base_ = [
    '../_base_/models/fosp_mit-b3.py', '../_base_/datasets/smokeseg.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k_fosp.py'
]
crop_size = (512, 512)
# ImageNet MiT-B3; offline: --cfg-options model.backbone.init_cfg=None
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b3_20220624-13b1141c.pth'  # noqa
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=checkpoint)))
train_dataloader = dict(batch_size=6)
