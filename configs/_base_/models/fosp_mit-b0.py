# FoSp with a MiT-B0 backbone: a light variant of fosp_mit-b3.py (the
# paper's model) with a quarter of the release fusion widths.
_base_ = ['./fosp_mit-b3.py']
model = dict(
    backbone=dict(embed_dims=32, num_layers=[2, 2, 2, 2]),
    neck=dict(in_channels=[32, 64, 160, 256]),
    decode_head=dict(
        in_channels=[32, 64, 160, 256],
        channels=128,
        fusion_channels=[64, 128, 192, 256],
        fg_channels=[16, 32, 64, 128]))
