# DeepLabV3+ R50-D8 baseline on smokeseg: MMSeg's standard recipe (SGD 0.01,
# poly, 40k iterations, 4 GPUs x batch 2, 512x512 crops).
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8_binary.py',
    '../_base_/datasets/smokeseg.py', '../_base_/default_runtime.py',
    '../_base_/schedules/sgd_40k.py'
]
crop_size = (512, 512)
model = dict(data_preprocessor=dict(size=crop_size))
