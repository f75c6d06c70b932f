# FoSp's Focus module (FocusNeck) between a STOCK SegFormer MiT-B0 encoder
# and the STOCK SegformerHead, by config alone. The neck guides the 1/4 and
# 1/32 features toward the mid resolutions, forms a one-channel focus logit
# at 1/16 and returns the focus-weighted features F * sigmoid(f) + F at
# indices 0..3 (what the head reads, in_index=[0, 1, 2, 3]) plus the focus
# logit (4) and the side logits o4, o8, o16, o32 (5..8).
# The focus and side logits are supervised directly as in FoSp's release
# (weight 0.1 each, ../_base_/models/focusneck_supervision.py). Dropping
# `auxiliary_head` leaves the focus map learnt end to end through the head
# alone.
# Everything else is the SegFormer baseline
# configs/segformer/segformer_mit-b0_4xb2-40k_smoke5k-512x512.py (which
# inherits mmseg::_base_/models/segformer_mit-b0.py), so the two form an
# ablation pair. MiT widths: in_channels=[32, 64, 160, 256].
_base_ = [
    '../segformer/segformer_mit-b0_4xb2-40k_smoke5k-512x512.py',
    '../_base_/models/focusneck_supervision.py'
]
model = dict(
    neck=dict(
        type='FocusNeck',
        in_channels=[32, 64, 160, 256],
        focus_level=2,  # focus logit at 1/16 as in FoSp's release
        residual=True),
    auxiliary_head=_base_.focus_supervision_heads)
# The neck is new, like the head: same x10 learning rate.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'neck': dict(lr_mult=10.)}))
