# The fields every one-channel smoke decode head shares: num_classes=2 with
# one sigmoid output channel, an explicit threshold of 0.5 (MMSeg would
# default to 0.3), the classifier at the smoke prior (smoke_prior_init.py)
# and the binary cross-entropy. smoke_binary_common.py and the model bases
# built on an `mmseg::` model base (deeplabv3plus_r50-d8_binary.py,
# segformer_mit-b0_binary.py) set their heads from it, e.g.
#   decode_head=dict(_base_.smoke_binary_head, norm_cfg=norm_cfg)
_base_ = ['./smoke_prior_init.py']
smoke_binary_head = dict(
    num_classes=2,
    out_channels=1,
    threshold=0.5,
    init_cfg=_base_.smoke_prior_init,
    loss_decode=dict(
        type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0))
