# Light FoSp: a MiT-B0 encoder trained FROM SCRATCH (no pretrained
# weights, no network), a quarter of the release fusion widths and 8-channel
# separation networks; the rest is fosp_mit-b3.py (the paper's model). The
# CPU configs (configs/fosp/fosp_mit-b0_*.py) and the early_smoke benchmark
# use it.
_base_ = ['./fosp_mit-b3.py']
model = dict(
    backbone=dict(
        embed_dims=32,
        num_layers=[2, 2, 2, 2],
        drop_path_rate=0.0,
        init_cfg=None),
    neck=dict(in_channels=[32, 64, 160, 256]),
    separation=dict(inpainter=dict(base_channels=8), matting_channels=8),
    decode_head=dict(
        in_channels=[32, 64, 160, 256],
        channels=128,
        fusion_channels=[64, 128, 192, 256],
        fg_channels=[16, 32, 64, 128]))
