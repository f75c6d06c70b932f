# FoSp (Focus and Separation Network, AAAI 2024) with the MiT-B3 backbone of
# the paper and of the released config (config/fosp_config.py). Components:
#   FocusNeck          bidirectional cascade -> focus map + weighted features
#   SeparationModule   inpaints the focus region (trained LightInpainter) and
#                      decomposes I = a*S + (1-a)*B
#   DomainFusionHead   coarse-to-fine fusion + 6-term deep supervision
# One sigmoid output channel (num_classes=2, out_channels=1) thresholded at
# 0.4 as in the released config; BN, SmokeDataPreProcessor, the prior init
# of the classifier and the binary cross-entropy come from
# smoke_binary_common.py. ImageNet weights for the MiT backbone are loaded
# with `init_cfg` in the derived configs; to train offline without them use
#   --cfg-options model.backbone.init_cfg=None
# The evaluators score the head's mask, so 0.4 is stated here only.
_base_ = ['./smoke_binary_common.py', './mit_backbone.py']
model = dict(
    type='FoSpEncoderDecoder',
    pretrained=None,
    # MiT-B3: MiT-B0 (mit_backbone.py) with B3's widths and depths
    backbone=dict(_base_.mit_b0, embed_dims=64, num_layers=[3, 4, 18, 3]),
    neck=dict(
        type='FocusNeck',
        in_channels=[64, 128, 320, 512],
        focus_level=2,  # focus logit at 1/16 as in the release
        residual=True),
    separation=dict(
        type='SeparationModule',
        inpainter=dict(type='LightInpainter', base_channels=16),
        hole_threshold=0.15,  # release: hole where focus > 0.15
        matting_channels=16,
        num_random_holes=4,
        random_hole_scale=(0.05, 0.25),
        loss_inpaint=dict(type='InpaintingLoss', loss_weight=1.0),
        loss_formation=dict(type='ImageFormationLoss', loss_weight=1.0),
        loss_alpha=dict(
            type='AlphaPriorLoss', smoke_free_weight=1.0,
            sparsity_weight=0.05)),
    decode_head=dict(
        type='DomainFusionHead',
        in_channels=[64, 128, 320, 512],
        in_index=[0, 1, 2, 3],
        channels=256,
        fusion_channels=[256, 512, 768, 1024],  # release widths
        # the foreground pyramid; fg_in_channels comes from the separation
        fg_channels=[32, 64, 128, 256],
        # release deep supervision: 0.5 final + 0.1 x (focus, o4..o32)
        final_loss_weight=0.5,
        focus_loss_weight=0.1,
        side_loss_weights=[0.1, 0.1, 0.1, 0.1],
        dropout_ratio=0.1,
        threshold=0.4))
