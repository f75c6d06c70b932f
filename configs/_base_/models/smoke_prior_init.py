# The initialisation of every one-channel smoke classifier: `conv_seg`
# starts at the smoke prior P(smoke) = 0.05 (bias log(0.05/0.95)). With
# MMSeg's default (weights N(0, 0.01), bias 0), ReLU features and ~5% smoke
# pixels, a one-channel head can settle with all-negative weights and never
# predict above sigmoid(bias) < 0.5 (docs/models.md).
# Its own file so that the model bases built on an `mmseg::` model base
# (deeplabv3plus_r50-d8_binary.py, segformer_mit-b0_binary.py) can inherit
# it next to that base; the others get it through smoke_binary_common.py.
smoke_prior_init = dict(
    type='Normal', std=0.01, bias=-2.944, override=dict(name='conv_seg'))
