# The Transmission-BVM losses on a STOCK SegFormer MiT-B0 head, by config
# alone: the segmentor computes the dark-channel transmission of each batch
# and adds 0.3 * transmission coherence loss (Eq. 7-9) and 0.01 *
# uncertainty-calibrated entropy loss (Eq. 10) to the head's own loss. The
# temperature U_p of Eq. 10 comes from the uncertainty network g_gamma,
# fitted (Eq. 6) to B = 10 MC-dropout samples of the head (the SegFormer
# head's dropout, 0.1; no latent variable). Everything else is the SegFormer
# baseline configs/segformer/segformer_mit-b0_4xb2-40k_smoke5k-512x512.py,
# so the two form an ablation pair.
_base_ = ['../segformer/segformer_mit-b0_4xb2-40k_smoke5k-512x512.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='BVMEncoderDecoder',
    # the transmission needs the RGB image, which this pre-processor gives back
    data_preprocessor=dict(type='SmokeDataPreProcessor'),
    uncertainty_net=dict(
        type='UncertaintyEstimationNet', channels=64, norm_cfg=norm_cfg),
    train_mc_samples=10,
    pixel_losses=[
        dict(type='TransmissionCoherenceLoss', loss_weight=0.3),
        dict(type='UncertaintyCalibratedEntropyLoss', loss_weight=0.01)
    ],
    transmission_cfg=dict(kernel_size=15, omega=0.95, top_ratio=0.001),
    test_cfg=dict(mode='whole', uncertainty='sampling_free', mc_samples=10))
# g_gamma is a new module like the head: same x10 learning rate.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'uncertainty_net': dict(lr_mult=10.)}))
