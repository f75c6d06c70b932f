# SegFormer MiT-B0 FROM SCRATCH on the real SMOKE5K training images with the
# early-smoke recipe (configs/_base_/datasets/smoke5k_native.py): 384x384
# crops at the native resolution, smoke-aware cropping, testing on whole
# images at the native resolution. The baseline of the `early_smoke`
# benchmark suite (docs/benchmarks.md).
_base_ = [
    '../_base_/models/segformer_mit-b0_binary.py',
    '../_base_/datasets/smoke5k_native.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_cpu_4k.py'
]
crop_size = (384, 384)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(init_cfg=None, drop_path_rate=0.0),
    decode_head=dict(channels=128),
    test_cfg={{_base_.native_test_cfg}})
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=500, max_keep_ckpts=1))
