# The transmission-guided local coherence loss of Transmission-BVM (Eq. 7-9)
# on a STOCK DeepLabV3+ R50-D8, by config alone. TransmissionEncoderDecoder
# is MMSeg's EncoderDecoder plus `pixel_losses`: in training it estimates
# the dark-channel-prior transmission of the batch (Eq. 9, on the device, no
# gradient) and adds 0.3 * L_trans on the decode head's logits to the head's
# own binary cross-entropy; inference is the stock one. The auxiliary FCN
# head keeps its plain loss.
# Everything else is the DeepLabV3+ baseline
# configs/deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_smoke5k-512x512.py
# (mmseg::_base_/models/deeplabv3plus_r50-d8.py made binary), so the two
# form an ablation pair. The calibrated-entropy loss (Eq. 10) also needs the
# predicted uncertainty: see deeplabv3plus_r50-d8_transloss_*.py.
_base_ = ['../deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_smoke5k-512x512.py']
model = dict(
    type='TransmissionEncoderDecoder',
    # the transmission needs the RGB image, which this pre-processor gives back
    data_preprocessor=dict(type='SmokeDataPreProcessor'),
    pixel_losses=[
        dict(
            type='TransmissionCoherenceLoss',
            kernel_size=5,
            sigma_xy=3.0,
            sigma_trans=0.1,
            kernel_weight=0.1,
            loss_weight=0.3)
    ],
    transmission_cfg=dict(kernel_size=15, omega=0.95, top_ratio=0.001))
