# The Bayesian latent-variable head of Transmission-BVM (BVMHead) and its
# sampling-free uncertainty (BVMEncoderDecoder + UncertaintyEstimationNet)
# on MMSeg's STOCK ResNet-50-V1c, by config alone. The backbone is the one
# of mmseg::_base_/models/upernet_r50.py (strides 4/8/16/32, four outputs,
# ImageNet weights from open-mmlab://resnet50_v1c); the UPerHead and its
# auxiliary head are replaced by BVMHead:
#   latent z (8 dims) from the image -> tiled onto f4 -> per-level conv +
#   MC dropout 0.3 -> RCAB -> DenseASPP -> one sigmoid channel,
# trained with the structure loss (Eq. 4) + KL (Eq. 2), and g_gamma fitted
# to the entropies of B = 10 MC samples (Eq. 5-6). No transmission losses
# here (add `pixel_losses` as in deeplabv3plus_r50-d8_transloss_*.py for the
# full Eq. 11); configs/transbvm/transbvm_r50_1xb6-50e_smoke5k-480x480.py is
# the paper's model (torchvision ResNet-50, paper schedule).
# Test: sampling-free maps (pred_uncertainty_{total,aleatoric,epistemic});
# `--cfg-options model.test_cfg.uncertainty=mc` gives the MC reference.
# Offline: --cfg-options model.pretrained=None
_base_ = [
    'mmseg::_base_/models/upernet_r50.py', '../_base_/datasets/smoke5k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k.py'
]
crop_size = (512, 512)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='BVMEncoderDecoder',
    data_preprocessor=dict(type='SmokeDataPreProcessor', size=crop_size),
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(
        _delete_=True,
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
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        init_cfg=dict(
            type='Normal', std=0.01, bias=-2.944,
            override=dict(name='conv_seg')),  # smoke prior 0.05
        align_corners=False,
        loss_decode=dict(type='StructureLoss', loss_weight=1.0)),
    auxiliary_head=None,
    uncertainty_net=dict(
        type='UncertaintyEstimationNet', channels=64, norm_cfg=norm_cfg),
    train_mc_samples=10,
    uncertainty_loss_weight=1.0,
    test_cfg=dict(mode='whole', uncertainty='sampling_free', mc_samples=10))
# AdamW 6e-5, head x10 (schedule_40k); g_gamma is new like the head.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'uncertainty_net': dict(lr_mult=10.)}))
