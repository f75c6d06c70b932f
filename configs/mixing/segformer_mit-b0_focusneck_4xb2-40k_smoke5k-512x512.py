# FoSp's Focus module (FocusNeck) between a STOCK SegFormer MiT-B0 encoder
# and the STOCK SegformerHead, by config alone. The neck guides the 1/4 and
# 1/32 features toward the mid resolutions, forms a one-channel focus logit
# at 1/16 and returns the focus-weighted features F * sigmoid(f) + F at
# indices 0..3 (what the head reads, in_index=[0, 1, 2, 3]) plus the focus
# logit (4) and the side logits o4, o8, o16, o32 (5..8).
# The focus and side logits are supervised as in FoSp's release (weight 0.1
# each) through stock FCNHeads with num_convs=0: each is a 1x1 convolution
# (a learnt scale and offset) on the logit and the binary cross-entropy, so
# every neck parameter gets a gradient from its own target as well as from
# the segmentation loss. Dropping `auxiliary_head` leaves the focus map
# learnt end to end through the head alone.
# Everything else is the SegFormer baseline
# configs/segformer/segformer_mit-b0_4xb2-40k_smoke5k-512x512.py (which
# inherits mmseg::_base_/models/segformer_mit-b0.py), so the two form an
# ablation pair. MiT widths: in_channels=[32, 64, 160, 256].
_base_ = ['../segformer/segformer_mit-b0_4xb2-40k_smoke5k-512x512.py']
norm_cfg = dict(type='BN', requires_grad=True)


def focus_supervision(in_index, loss_weight=0.1):
    """A stock FCNHead that supervises one FocusNeck logit directly."""
    return dict(
        type='FCNHead',
        in_channels=1,
        channels=1,
        num_convs=0,
        concat_input=False,
        in_index=in_index,
        dropout_ratio=0.0,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=True,
            loss_weight=loss_weight))


model = dict(
    neck=dict(
        type='FocusNeck',
        in_channels=[32, 64, 160, 256],
        focus_level=2,  # focus logit at 1/16 as in FoSp's release
        residual=True),
    # indices 4..8 of the neck output: focus, o4, o8, o16, o32
    auxiliary_head=[focus_supervision(i) for i in (4, 5, 6, 7, 8)])
# The neck is new, like the head: same x10 learning rate.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'neck': dict(lr_mult=10.)}))
