# SegFormer's all-MLP head (128 channels, as segformer_mit-b0_light.py) on
# the ImageNet-pretrained EfficientNet-Lite0 of effnet-lite0.py: the
# binary smoke model of segformer_mit-b0_binary.py with the MiT encoder
# replaced, the head reading Lite0's 24/40/112/320-channel maps and the
# inputs normalised as the weights expect.
_base_ = ['./segformer_mit-b0_light.py', './effnet-lite0.py']
data_preprocessor = dict(_base_.data_preprocessor,
                         **_base_.effnet_lite_preprocessor)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(_base_.effnet_lite0, _delete_=True),
    decode_head=dict(in_channels=_base_.effnet_lite0_channels))
