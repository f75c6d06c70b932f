# Direct supervision of FocusNeck's focus and side logits for configs that
# put the neck in front of a STOCK head (configs/mixing/*_focusneck_*.py).
# The neck returns FocusOutputs, a tuple: the focus-weighted features
# f1..f4 that a stock head reads (in_index=[0, 1, 2, 3]), its focus logit
# and the side logits o4, o8, o16, o32. Each logit gets a stock FCNHead
# with num_convs=0: a 1x1 convolution (a learnt scale and offset) on the
# logit and the binary cross-entropy at weight 0.1, as in FoSp's release,
# so that every neck parameter gets a gradient from its own target as well
# as from the segmentation loss. A config uses it as
#   model = dict(auxiliary_head=_base_.focus_supervision_heads)
# (FoSpEncoderDecoder reads the same logits by name instead:
# DomainFusionHead's focus_loss_weight and side_loss_weights.)
# A stock head takes a position (`in_index`); the position of each logit is
# looked up by its name in the field order of FocusOutputs
# (mmsmoke/models/necks/focus_neck.py; a test checks that the two agree).
focus_neck_fields = ('f1', 'f2', 'f3', 'f4', 'focus', 'o4', 'o8', 'o16', 'o32')
focus_supervision_heads = [
    dict(
        type='FCNHead',
        in_channels=1,
        channels=1,
        num_convs=0,
        concat_input=False,
        in_index=focus_neck_fields.index(name),
        dropout_ratio=0.0,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.1))
    for name in ('focus', 'o4', 'o8', 'o16', 'o32')
]
