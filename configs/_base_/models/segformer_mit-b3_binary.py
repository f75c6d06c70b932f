# SegFormer MiT-B3 (the backbone of FoSp's paper config) as a binary smoke
# model; see segformer_mit-b0_binary.py for the conventions.
_base_ = ['./segformer_mit-b0_binary.py']
model = dict(
    backbone=dict(embed_dims=64, num_layers=[3, 4, 18, 3]),
    decode_head=dict(in_channels=[64, 128, 320, 512]))
