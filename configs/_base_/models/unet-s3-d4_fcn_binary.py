# A small full-resolution U-Net (MMSeg's UNet backbone, 3 stages, 12-24-48
# channels, ~66k parameters) with a one-channel FCN classifier: a fast CPU
# baseline for thin and faint smoke, whose output keeps the input resolution.
_base_ = ['./smoke_binary_common.py']
# MMSeg's stock SegDataPreProcessor with the base's mean/std and padding;
# BN, the prior init and the binary head fields: smoke_binary_common.py.
data_preprocessor = dict(type='SegDataPreProcessor')
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='UNet',
        in_channels=3,
        base_channels=12,
        num_stages=3,
        strides=(1, 1, 1),
        enc_num_convs=(2, 2, 2),
        dec_num_convs=(1, 1),
        downsamples=(True, True),
        enc_dilations=(1, 1, 1),
        dec_dilations=(1, 1),
        with_cp=False,
        conv_cfg=None,
        norm_cfg=_base_.norm_cfg,
        act_cfg=dict(type='ReLU'),
        upsample_cfg=dict(type='InterpConv'),
        norm_eval=False),
    decode_head=dict(
        type='FCNHead',
        in_channels=12,
        in_index=2,  # the full-resolution decoder output
        channels=12,
        num_convs=0,
        concat_input=False,
        dropout_ratio=0.0))
