# FoSp with ResNet-50-V1c on SMOKE5K: 4 GPUs x batch 2, 512x512 crops,
# FoSp's released optimiser recipe (AdamW 6e-5, lr x10 on the new parts,
# 1,500 warm-up iterations, poly, 40k iterations), threshold 0.4.
# ImageNet weights come from `open-mmlab://resnet50_v1c` (model base);
# offline: --cfg-options model.pretrained=None
_base_ = [
    '../_base_/models/fosp_r50.py', '../_base_/datasets/smoke5k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k_fosp.py'
]
crop_size = (512, 512)
model = dict(data_preprocessor=dict(size=crop_size))
train_dataloader = dict(batch_size=2)
