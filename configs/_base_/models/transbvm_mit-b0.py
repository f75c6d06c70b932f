# Light Transmission-BVM: a MiT-B0 encoder trained FROM SCRATCH (no
# pretrained weights, no network), a narrow BVM head and uncertainty network.
# Same losses and weights as the paper (Eq. 11), with B = 5 MC samples per
# step instead of the full config's 10 (the paper does not fix B; only the
# head is re-run per sample). g_gamma trains at 0.6x the generator's rate as
# in the paper.
_base_ = ['./transbvm_r50.py', './mit_backbone.py']
model = dict(
    backbone=dict(
        _base_.mit_b0, _delete_=True, drop_path_rate=0.0, init_cfg=None),
    decode_head=dict(
        in_channels=[32, 64, 160, 256],
        channels=16,
        latent_channels=16,
        dense_aspp_dilations=(2, 4, 8, 12)),
    uncertainty_net=dict(channels=16),
    train_mc_samples=5)
