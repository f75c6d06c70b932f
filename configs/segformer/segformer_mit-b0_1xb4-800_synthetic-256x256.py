# Light CPU model of the README demo: SegFormer MiT-B0 trained FROM SCRATCH
# (no pretrained weights, no network) on the embedded synthetic smoke set,
# 800 iterations of batch 4 at 256x256 on one process.
_base_ = [
    '../_base_/models/segformer_mit-b0_light.py',
    '../_base_/datasets/synthetic_smoke.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_cpu_demo.py'
]
# batches padded to the dataset's 256x256 crops
model = dict(data_preprocessor=dict(size=_base_.crop_size))
