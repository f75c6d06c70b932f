# FoSp R50 on SMOKE5K for GPU clusters: fosp_r50_4xb2-40k_smoke5k-512x512.py
# with synchronised batch norm in the backbone and the Domain Fusion head
# (the Focus and Separation modules have no batch norm). With 2 images per
# GPU, BN statistics over one GPU are noisy; SyncBN pools them over all
# processes. Distributed runs only (a single process reverts SyncBN to BN):
#   bash tools/dist_train.sh \
#       configs/fosp/fosp_r50_4xb2-40k_smoke5k-512x512_syncbn.py 4
_base_ = ['./fosp_r50_4xb2-40k_smoke5k-512x512.py']
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg), decode_head=dict(norm_cfg=norm_cfg))
