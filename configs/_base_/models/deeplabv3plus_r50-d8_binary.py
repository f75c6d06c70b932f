# MMSeg's DeepLabV3+ R50-D8 turned into a binary smoke model: one sigmoid
# output channel with an explicit threshold (MMSeg would default to 0.3), BN
# instead of SyncBN so that it also runs in one process (SyncBN variants are
# in the *_syncbn configs). ImageNet weights are loaded the standard way from
# `open-mmlab://resnet50_v1c`; to train offline without them use
#   --cfg-options model.pretrained=None model.backbone.init_cfg=None
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py', './smoke_binary_head.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(_base_.smoke_binary_head, norm_cfg=norm_cfg))
# the auxiliary FCN head: the same binary fields at 0.4 times the loss
model['auxiliary_head'] = dict(
    model['decode_head'],
    loss_decode=dict(_base_.smoke_binary_head.loss_decode, loss_weight=0.4))
