# FocusNeck on an mmpretrain ConvNeXt-T backbone with MMSeg's STOCK UPerHead,
# by config alone. The backbone comes from mmpretrain through its registry
# scope (`type='mmpretrain.ConvNeXt'`, imported on first use, no extra
# custom_imports needed); it must return the 4 stages as feature maps:
# out_indices=[0, 1, 2, 3] and gap_before_final_norm=False (FocusNeck
# refuses pooled vectors with a clear error). Widths: [96, 192, 384, 768].
#
# Inheritance: the UPerNet model of mmseg::_base_/models/upernet_r50.py
# (UPerHead with PPM pool scales 1/2/3/6, 512 channels) with its ResNet
# swapped for ConvNeXt-T as in MMSeg's own convnext-tiny_upernet configs.
# (mmseg::_base_/models/upernet_convnext.py cannot be a base next to
# ../_base_/default_runtime.py: both set `custom_imports`, and mmengine
# refuses a key defined by two bases.)
# The base's stage-3 FCN auxiliary head is replaced by the direct
# supervision of the focus and side logits (weight 0.1 each as in FoSp's
# release, ../_base_/models/focusneck_supervision.py). One sigmoid channel
# with an explicit threshold; BN instead of SyncBN (see docs/distributed.md).
# ImageNet-1k ConvNeXt-T weights as in MMSeg; offline:
#   --cfg-options model.backbone.init_cfg=None
_base_ = [
    'mmseg::_base_/models/upernet_r50.py', '../_base_/datasets/smoke5k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k.py',
    '../_base_/models/focusneck_supervision.py'
]
crop_size = (512, 512)
norm_cfg = dict(type='BN', requires_grad=True)
convnext_channels = [96, 192, 384, 768]
checkpoint_file = 'https://download.openmmlab.com/mmclassification/v0/convnext/downstream/convnext-tiny_3rdparty_32xb128-noema_in1k_20220301-795e9634.pth'  # noqa

model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,  # the base's ResNet weights
    backbone=dict(
        _delete_=True,
        type='mmpretrain.ConvNeXt',
        arch='tiny',
        out_indices=[0, 1, 2, 3],
        drop_path_rate=0.4,
        layer_scale_init_value=1.0,
        gap_before_final_norm=False,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint_file,
            prefix='backbone.')),
    neck=dict(
        type='FocusNeck',
        in_channels=convnext_channels,
        focus_level=2,
        residual=True),
    decode_head=dict(
        in_channels=convnext_channels,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        init_cfg=dict(
            type='Normal', std=0.01, bias=-2.944,
            override=dict(name='conv_seg')),  # smoke prior 0.05
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    auxiliary_head=_base_.focus_supervision_heads)
# AdamW 6e-5 with the head (and the neck) at x10, poly decay over 40k
# iterations (schedule_40k).
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'neck': dict(lr_mult=10.)}))
