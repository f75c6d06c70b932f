# SegFormer MiT-B3 baseline on smoke5k (the yardstick of FoSp's paper table):
# AdamW 6e-5, poly, 40k iterations, 4 GPUs x batch 2, 512x512 crops.
_base_ = [
    '../_base_/models/segformer_mit-b3_binary.py',
    '../_base_/datasets/smoke5k.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
crop_size = (512, 512)
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b3_20220624-13b1141c.pth'  # noqa
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=checkpoint)))
