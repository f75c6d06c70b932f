# Transmission-BVM (Yan, Zhang and Barnes, AAAI 2022): ResNet-50 encoder, the
# Bayesian latent variable decode head (latent z of 8 dimensions, MC dropout
# 0.3, RCAB, DenseASPP), the uncertainty estimation network g_gamma, and
# the total loss of Eq. 11:
#   structure loss (Eq. 4) + KL to N(0, I) (Eq. 2)
#   + 0.3 * transmission coherence loss (Eq. 7-9)
#   + 0.01 * uncertainty-calibrated entropy loss (Eq. 10),
# plus L_un (Eq. 6) for g_gamma against B = 10 MC samples per step.
# One sigmoid output channel with an explicit threshold, BN (one process),
# SmokeDataPreProcessor and the prior init: smoke_binary_common.py.
# The paper initialises ResNet-50 with ImageNet classification weights:
# they are loaded the standard way from `torchvision://resnet50`. To train
# offline, download them once and point to the file with
#   --cfg-options model.backbone.init_cfg.checkpoint=/path/resnet50.pth
# or train from scratch with --cfg-options model.backbone.init_cfg=None
_base_ = ['./smoke_binary_common.py']
norm_cfg = _base_.norm_cfg
model = dict(
    type='BVMEncoderDecoder',
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    decode_head=dict(
        type='BVMHead',
        in_channels=[256, 512, 1024, 2048],
        in_index=[0, 1, 2, 3],
        channels=32,
        latent_dim=8,
        latent_channels=32,
        mc_dropout_ratio=0.3,
        dense_aspp_dilations=(3, 6, 12, 18, 24),
        kl_weight=1.0,
        dropout_ratio=0.0,
        loss_decode=dict(_delete_=True, type='StructureLoss',
                         loss_weight=1.0)),
    uncertainty_net=dict(
        type='UncertaintyEstimationNet', channels=64, norm_cfg=norm_cfg),
    train_mc_samples=10,
    uncertainty_loss_weight=1.0,
    pixel_losses=[
        dict(
            type='TransmissionCoherenceLoss',
            kernel_size=5,
            sigma_xy=3.0,
            sigma_trans=0.1,
            kernel_weight=0.1,
            loss_weight=0.3),
        dict(type='UncertaintyCalibratedEntropyLoss', loss_weight=0.01)
    ],
    transmission_cfg=dict(kernel_size=15, omega=0.95, top_ratio=0.001),
    # uncertainty: 'sampling_free' (one pass + g_gamma), 'mc' (reference
    # maps from mc_samples passes) or 'none'.
    test_cfg=dict(uncertainty='sampling_free', mc_samples=10))
