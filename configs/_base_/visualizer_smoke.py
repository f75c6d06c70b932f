# Runtime with mmsmoke's SmokeLocalVisualizer: default_runtime.py, except
# that the visualizer draws the smoke overlay next to the probability map
# and the model's extra maps (FoSp focus/alpha/foreground/background,
# Transmission-BVM uncertainty), see docs/inference.md.
#
# Use it IN PLACE OF default_runtime.py in a base list (mmengine refuses a
# key defined by two bases):
#   _base_ = ['../_base_/models/fosp_mit-b0.py',
#             '../_base_/datasets/synthetic_smoke.py',
#             '../_base_/visualizer_smoke.py',
#             '../_base_/schedules/schedule_cpu_demo.py']
# On top of a complete config, set the type instead:
#   visualizer = dict(type='SmokeLocalVisualizer')
# or from the command line:
#   python tools/test.py CONFIG CHECKPOINT --show-dir work_dirs/vis \
#       --cfg-options visualizer.type=SmokeLocalVisualizer
_base_ = ['./default_runtime.py']
# Add dict(type='TensorboardVisBackend') to also log the drawings to
# TensorBoard.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SmokeLocalVisualizer',
    vis_backends=vis_backends,
    name='visualizer',
    alpha=0.5,
    map_fields=None,  # every pred_* map the model produces
    draw_probability=True,
    colormap='inferno',
    panels_per_row=4)
