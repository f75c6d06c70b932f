# FoSp's released optimiser recipe: schedule_40k.py (AdamW 6e-5, weight
# decay 0.01, head lr x10, 1,500 linear warm-up iterations, poly to 40k
# iterations) with the other newly initialised parts, the Focus neck and the
# Separation module, at lr x10 as well (the release's FOSP head holds Focus,
# Separation and Fusion, so all three get x10).
_base_ = ['./schedule_40k.py']
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        'neck': dict(lr_mult=10.),
        'separation': dict(lr_mult=10.)
    }))
