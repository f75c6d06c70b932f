# FoSp MiT-B3 on SMOKE5K with the released SmokeSeg recipe (the release ships
# no SMOKE5K config): 1 GPU x batch 6, 512x512 crops, AdamW 6e-5, lr x10 on
# the new parts, 1,500 warm-up iterations, poly, 40k iterations, threshold
# 0.4.
_base_ = [
    '../_base_/models/fosp_mit-b3.py', '../_base_/datasets/smoke5k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k_fosp.py'
]
crop_size = (512, 512)
# ImageNet MiT-B3; offline: --cfg-options model.backbone.init_cfg=None
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b3_20220624-13b1141c.pth'  # noqa
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=checkpoint)))
train_dataloader = dict(batch_size=6)
