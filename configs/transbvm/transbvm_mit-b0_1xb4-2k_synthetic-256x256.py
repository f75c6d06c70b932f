# Light CPU variant of Transmission-BVM for the embedded synthetic smoke
# set: MiT-B0 encoder trained FROM SCRATCH (no pretrained weights, no
# network), a narrow BVM head and uncertainty network, 2,000 iterations of
# batch 4 at 256x256 on one process. Same losses and weights as the paper
# (Eq. 11), with B = 5 MC samples per step instead of the full config's 10
# (the paper does not fix B; only the head is re-run per sample).
_base_ = [
    '../_base_/models/transbvm_r50.py',
    '../_base_/datasets/synthetic_smoke.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_cpu_demo.py'
]
crop_size = (256, 256)
max_iters = 2000
model = dict(
    data_preprocessor=dict(size=crop_size),
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
# AdamW 1e-3 with warm-up and poly decay (schedule_cpu_demo) over 2,000
# iterations; g_gamma at 0.6x the generator's rate as in the paper.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'uncertainty_net': dict(lr_mult=0.6)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=50,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
