# Light Transmission-BVM: a MiT-B0 encoder trained FROM SCRATCH (no
# pretrained weights, no network), a narrow BVM head and uncertainty network.
# Same losses and weights as the paper (Eq. 11), with B = 5 MC samples per
# step instead of the full config's 10 (the paper does not fix B; only the
# head is re-run per sample). g_gamma trains at 0.6x the generator's rate as
# in the paper.
_base_ = ['./transbvm_r50.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='MixVisionTransformer',
        in_channels=3,
        embed_dims=32,
        num_stages=4,
        num_layers=[2, 2, 2, 2],
        num_heads=[1, 2, 5, 8],
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        mlp_ratio=4,
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.0,
        init_cfg=None),
    decode_head=dict(
        in_channels=[32, 64, 160, 256],
        channels=16,
        latent_channels=16,
        dense_aspp_dilations=(2, 4, 8, 12)),
    uncertainty_net=dict(channels=16),
    train_mc_samples=5)
