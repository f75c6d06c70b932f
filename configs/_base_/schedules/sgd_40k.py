# MMSegmentation's standard CNN schedule: SGD 0.01, momentum 0.9, weight
# decay 5e-4, poly decay (power 0.9, down to 1e-4) over 40k iterations from
# the first one. The 40k-iteration loop (validation every 4k) and the poly
# decay are those of schedule_40k.py, with another optimiser and no warm-up.
_base_ = ['./schedule_40k.py']
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005),
    clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=40000,
        by_epoch=False)
]
