# FoSp with ResNet-50-V1c on SmokeSeg: 4 GPUs x batch 2 (MMSeg's CNN
# setting), 512x512 crops, and FoSp's released optimiser recipe (AdamW 6e-5,
# weight decay 0.01, lr x10 on head/neck/separation, 1,500 linear warm-up
# iterations, poly power 1, 40k iterations), test threshold 0.4.
# ImageNet weights come from `open-mmlab://resnet50_v1c` (model base);
# offline: --cfg-options model.pretrained=None
_base_ = [
    '../_base_/models/fosp_r50.py', '../_base_/datasets/smokeseg.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k_fosp.py'
]
crop_size = (512, 512)
model = dict(data_preprocessor=dict(size=crop_size))
train_dataloader = dict(batch_size=2)
