# Light Transmission-BVM (transbvm_mit-b0.py: narrow BVM head and
# uncertainty network, 5 MC samples per step) on the ImageNet-pretrained
# EfficientNet-Lite0 of effnet-lite0.py: the BVM head reads Lite0's
# 24/40/112/320-channel maps, and the inputs are normalised as the weights
# expect. The transmission losses use the [0, 1] RGB image of the
# pre-processor, whatever the normalisation.
_base_ = ['./transbvm_mit-b0.py', './effnet-lite0.py']
data_preprocessor = dict(_base_.data_preprocessor,
                         **_base_.effnet_lite_preprocessor)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(_base_.effnet_lite0, _delete_=True),
    decode_head=dict(in_channels=_base_.effnet_lite0_channels))
