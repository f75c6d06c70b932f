# Direct supervision of FocusNeck's focus and side logits for configs that
# put the neck in front of a STOCK head (configs/mixing/*_focusneck_*.py).
# The neck returns the focus-weighted features at indices 0..3 and, for
# stock heads that read a tuple, its focus logit (4) and the side logits
# o4, o8, o16, o32 (5..8). Each logit gets a stock FCNHead with num_convs=0:
# a 1x1 convolution (a learnt scale and offset) on the logit and the binary
# cross-entropy at weight 0.1, as in FoSp's release, so that every neck
# parameter gets a gradient from its own target as well as from the
# segmentation loss. A config uses it as
#   model = dict(auxiliary_head=_base_.focus_supervision_heads)
# (FoSpEncoderDecoder reads the same logits by name instead:
# DomainFusionHead's focus_loss_weight and side_loss_weights.)
focus_supervision_heads = [
    dict(
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
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.1))
    for in_index in (4, 5, 6, 7, 8)
]
