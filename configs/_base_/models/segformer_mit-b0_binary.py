# MMSeg's SegFormer MiT-B0 as a binary smoke model: one sigmoid channel with
# an explicit threshold, BN instead of SyncBN. ImageNet weights for the MiT
# backbone are loaded with `init_cfg` in the derived configs; to train
# offline without them use
#   --cfg-options model.pretrained=None model.backbone.init_cfg=None
_base_ = ['mmseg::_base_/models/segformer_mit-b0.py', './smoke_binary_head.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    decode_head=dict(_base_.smoke_binary_head, norm_cfg=norm_cfg))
