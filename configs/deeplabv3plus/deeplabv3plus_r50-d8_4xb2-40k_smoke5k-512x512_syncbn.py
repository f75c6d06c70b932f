# DeepLabV3+ R50-D8 on SMOKE5K with MMSeg's own synchronised batch norm
# (the setting of MMSeg's stock configs) for GPU clusters; the base config
# uses BN so that it also runs in one process. Distributed runs only
# (a single process reverts SyncBN to BN):
#   bash tools/dist_train.sh THIS_CONFIG 4
_base_ = ['./deeplabv3plus_r50-d8_4xb2-40k_smoke5k-512x512.py']
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(norm_cfg=norm_cfg),
    auxiliary_head=dict(norm_cfg=norm_cfg))
