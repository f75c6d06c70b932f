# Light FoSp (MiT-B0 widths) FROM SCRATCH on the real SMOKE5K training images
# with the early-smoke recipe (configs/_base_/datasets/smoke5k_native.py):
# 384x384 crops at the native resolution, smoke-aware cropping, testing on
# whole images at the native resolution. Same data and schedule as
# configs/segformer/segformer_mit-b0_1xb4-4k_smoke5k-native-384x384.py; the
# `early_smoke` benchmark suite compares the two and ablates Focus and
# Separation (docs/fosp.md).
_base_ = [
    '../_base_/models/fosp_mit-b0.py', '../_base_/datasets/smoke5k_native.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_cpu_4k.py'
]
# batches padded to the dataset's 384x384 crops; slide windows of 640x640
model = dict(
    data_preprocessor=dict(size=_base_.crop_size),
    test_cfg=_base_.native_test_cfg)
