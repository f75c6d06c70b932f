# What the binary smoke models of this package share: BN (not SyncBN, so
# that every model also runs in one process), SmokeDataPreProcessor (ImageNet
# mean/std, RGB, masks padded with 255), a decode head with the one-channel
# fields of smoke_binary_head.py (num_classes=2, out_channels=1, threshold
# 0.5, the classifier at the smoke prior, a binary cross-entropy), and
# whole-image inference. fosp_mit-b3.py, transbvm_r50.py and
# unet-s3-d4_fcn_binary.py inherit it and state the segmentor, backbone,
# the rest of the head and what differs (e.g. FoSp's threshold 0.4, BVM's
# structure loss with `loss_decode=dict(_delete_=True, ...)`).
# deeplabv3plus_r50-d8_binary.py and segformer_mit-b0_binary.py inherit
# MMSeg's model bases instead, which define `norm_cfg`, `data_preprocessor`
# and `model` too (mmengine refuses a key defined by two bases), and set
# their heads from smoke_binary_head.py themselves.
_base_ = ['./smoke_binary_head.py']
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SmokeDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        _base_.smoke_binary_head, norm_cfg=norm_cfg, align_corners=False),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
