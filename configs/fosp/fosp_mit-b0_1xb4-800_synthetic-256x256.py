# Light CPU model: FoSp with MiT-B0 trained FROM SCRATCH (no pretrained
# weights, no network) on the embedded synthetic smoke set, 800 iterations of
# batch 4 at 256x256 in one process -- the same data and schedule as the
# SegFormer MiT-B0 demo (configs/segformer/...synthetic-256x256.py), so the
# two can be compared. Generate the data first:
#   python tools/dataset_converters/generate_synthetic_smoke.py \
#       --out data/synthetic_smoke --layout smoke5k
_base_ = [
    '../_base_/models/fosp_mit-b0.py', '../_base_/datasets/synthetic_smoke.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_cpu_demo.py'
]
# batches padded to the dataset's 256x256 crops
model = dict(data_preprocessor=dict(size=_base_.crop_size))
