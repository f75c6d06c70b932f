# Light SegFormer MiT-B0, the baseline next to fosp_mit-b0.py and
# transbvm_mit-b0.py: the binary model of segformer_mit-b0_binary.py trained
# FROM SCRATCH (no pretrained weights, no network, no drop path) with a
# 128-channel head.
_base_ = ['./segformer_mit-b0_binary.py']
model = dict(
    pretrained=None,
    backbone=dict(init_cfg=None, drop_path_rate=0.0),
    decode_head=dict(channels=128))
