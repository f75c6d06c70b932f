# Short name for FoSp R50 on SmokeSeg:
#   python tools/train.py configs/fosp_r50_smokeseg.py
# Everything comes from configs/fosp/fosp_r50_4xb2-40k_smokeseg-512x512.py
# (offline, without ImageNet weights: --cfg-options model.pretrained=None).
_base_ = ['./fosp/fosp_r50_4xb2-40k_smokeseg-512x512.py']
