# The MiT (SegFormer) encoder as a value, for the model bases that cannot
# inherit mmseg::_base_/models/segformer_mit-b0.py because they define
# `model`, `norm_cfg` and `data_preprocessor` themselves (mmengine refuses a
# key defined by two bases): fosp_mit-b3.py and transbvm_mit-b0.py. The
# settings are MMSeg's MiT-B0 (widths 32-64-160-256); a base widens it with
# e.g. dict(_base_.mit_b0, embed_dims=64, num_layers=[3, 4, 18, 3]) for
# MiT-B3. No weights here: a config loads them with `init_cfg`.
mit_b0 = dict(
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
    drop_path_rate=0.1)
