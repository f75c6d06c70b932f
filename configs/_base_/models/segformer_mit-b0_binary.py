# MMSeg's SegFormer MiT-B0 as a binary smoke model: one sigmoid channel with
# an explicit threshold, BN instead of SyncBN. ImageNet weights for the MiT
# backbone are loaded with `init_cfg` in the derived configs; to train
# offline without them use
#   --cfg-options model.pretrained=None model.backbone.init_cfg=None
_base_ = ['mmseg::_base_/models/segformer_mit-b0.py']
norm_cfg = dict(type='BN', requires_grad=True)
# `conv_seg` starts at the smoke prior P(smoke) = 0.05 (bias log(0.05/0.95)):
# with MMSeg's default (weights N(0, 0.01), bias 0), ReLU features and
# ~5% smoke pixels, a one-channel head can settle with all-negative
# weights and never predict above sigmoid(bias) < 0.5 (docs/models.md).
smoke_prior_init = dict(type='Normal', std=0.01, bias=-2.944, override=dict(name='conv_seg'))
model = dict(
    decode_head=dict(
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        init_cfg=smoke_prior_init,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
