# Both Transmission-BVM losses on a STOCK DeepLabV3+ R50-D8, by config
# alone: 0.3 * transmission coherence loss (Eq. 7-9) and 0.01 *
# uncertainty-calibrated entropy loss (Eq. 10), the weights of Eq. 11.
# Eq. 10 divides the logits by the total uncertainty U_p, which a stock
# model does not predict, so the segmentor is BVMEncoderDecoder (a
# TransmissionEncoderDecoder that also trains the uncertainty network
# g_gamma): each step runs the stock DepthwiseSeparableASPPHead B = 10 times
# on the same backbone features (MC dropout with the head's own dropout,
# 0.1; no gradient, frozen BN statistics), fits g_gamma to the MC entropies
# (Eq. 5-6), and passes its U_p to the loss. At test time g_gamma gives
# sampling-free total/aleatoric/epistemic uncertainty maps
# (pred_uncertainty_* in every SegDataSample).
# Everything else is the DeepLabV3+ baseline
# configs/deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_smoke5k-512x512.py.
_base_ = ['../deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_smoke5k-512x512.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='BVMEncoderDecoder',
    # the transmission needs the RGB image, which this pre-processor gives back
    data_preprocessor=dict(type='SmokeDataPreProcessor'),
    uncertainty_net=dict(
        type='UncertaintyEstimationNet', channels=64, norm_cfg=norm_cfg),
    train_mc_samples=10,
    uncertainty_loss_weight=1.0,
    pixel_losses=[
        dict(type='TransmissionCoherenceLoss', loss_weight=0.3),
        dict(type='UncertaintyCalibratedEntropyLoss', loss_weight=0.01)
    ],
    transmission_cfg=dict(kernel_size=15, omega=0.95, top_ratio=0.001),
    test_cfg=dict(mode='whole', uncertainty='sampling_free', mc_samples=10))
