# MMSeg's SegFormer MiT-B0 as a binary smoke model: one sigmoid channel with
# an explicit threshold, BN instead of SyncBN. ImageNet weights for the MiT
# backbone are loaded with `init_cfg` in the derived configs; to train
# offline without them use
#   --cfg-options model.pretrained=None model.backbone.init_cfg=None
_base_ = ['mmseg::_base_/models/segformer_mit-b0.py', './smoke_prior_init.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    decode_head=dict(
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        init_cfg=_base_.smoke_prior_init,  # smoke_prior_init.py
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
