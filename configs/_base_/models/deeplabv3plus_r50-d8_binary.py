# MMSeg's DeepLabV3+ R50-D8 turned into a binary smoke model: one sigmoid
# output channel with an explicit threshold (MMSeg would default to 0.3), BN
# instead of SyncBN so that it also runs in one process (SyncBN variants are
# in the *_syncbn configs). ImageNet weights are loaded the standard way from
# `open-mmlab://resnet50_v1c`; to train offline without them use
#   --cfg-options model.pretrained=None model.backbone.init_cfg=None
_base_ = ['mmseg::_base_/models/deeplabv3plus_r50-d8.py']
norm_cfg = dict(type='BN', requires_grad=True)
# `conv_seg` starts at the smoke prior P(smoke) = 0.05 (bias log(0.05/0.95)):
# with MMSeg's default (weights N(0, 0.01), bias 0), ReLU features and
# ~5% smoke pixels, a one-channel head can settle with all-negative
# weights and never predict above sigmoid(bias) < 0.5 (docs/models.md).
smoke_prior_init = dict(type='Normal', std=0.01, bias=-2.944, override=dict(name='conv_seg'))
binary_loss = dict(
    type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        init_cfg=smoke_prior_init,
        loss_decode=binary_loss),
    auxiliary_head=dict(
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        init_cfg=smoke_prior_init,
        loss_decode=dict(binary_loss, loss_weight=0.4)))
