# FoSp with a ResNet-50-V1c backbone (MMSeg's standard CNN backbone; the
# release only ships MiT-B3). The ResNet keeps strides 4/8/16/32 (no
# dilation) because the Focus module works on a 4-scale pyramid. BN instead
# of SyncBN so that the model also runs in one process. ImageNet weights are
# loaded the standard way from `open-mmlab://resnet50_v1c`; to train offline
# without them use
#   --cfg-options model.pretrained=None
_base_ = ['./fosp_mit-b3.py']  # everything but the backbone
model = dict(
    pretrained='open-mmlab://resnet50_v1c',
    backbone=dict(
        _delete_=True,
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=_base_.norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    neck=dict(in_channels=[256, 512, 1024, 2048]),
    decode_head=dict(in_channels=[256, 512, 1024, 2048]))
