# Transmission-BVM R50 on SMOKE5K for GPU clusters: the paper's recipe of
# transbvm_r50_1xb6-50e_smoke5k-480x480.py on 2 GPUs x 3 images (the same
# total batch of 6, so the same iterations per epoch and the same
# schedule) with synchronised batch norm in the backbone, the BVM head
# (including its inference network P(z|x)) and the uncertainty network
# g_gamma. The extra Monte Carlo passes of the head in training run on
# every process alike and keep the BN statistics frozen (SyncBN is a batch
# norm for that purpose). Distributed runs only:
#   bash tools/dist_train.sh \
#       configs/transbvm/transbvm_r50_2xb3-50e_smoke5k-480x480_syncbn.py 2
_base_ = ['./transbvm_r50_1xb6-50e_smoke5k-480x480.py']
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(norm_cfg=norm_cfg),
    uncertainty_net=dict(norm_cfg=norm_cfg))
train_dataloader = dict(batch_size=3)
