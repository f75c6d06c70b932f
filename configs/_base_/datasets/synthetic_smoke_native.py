# The embedded synthetic smoke set (synthetic_smoke.py) with the early-smoke
# recipe of smoke5k_native.py: crops of the 256x256 images at their native
# scale (x U(0.75, 1.25)) with SmokeAwareCrop, and testing on whole images at
# their native size. Only the data root, the crop size and the loaders differ
# from smoke5k_native.py (both sets have the SMOKE5K layout).
_base_ = ['./smoke5k_native.py']
data_root = 'data/synthetic_smoke'
crop_size = (128, 128)
train_pipeline = _base_.train_pipeline
train_pipeline[3].crop_size = crop_size  # SmokeAwareCrop
train_dataloader = dict(
    num_workers=1, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(num_workers=1, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
