# Light CPU model of the README demo: SegFormer MiT-B0 trained FROM SCRATCH
# (no pretrained weights, no network) on the embedded synthetic smoke set,
# 800 iterations of batch 4 at 256x256 on one process.
_base_ = [
    '../_base_/models/segformer_mit-b0_binary.py',
    '../_base_/datasets/synthetic_smoke.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_cpu_demo.py'
]
crop_size = (256, 256)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(init_cfg=None, drop_path_rate=0.0),
    decode_head=dict(channels=128))
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=800, max_keep_ckpts=1))
