"""SmokeLocalVisualizer: panels, visual backends, config and test tool."""
import glob
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample

from mmsmoke.visualization import (SmokeLocalVisualizer, colorize_map,
                                   draw_smoke_overlay, tile_panels)

REPO = Path(__file__).resolve().parents[2]
H, W = 24, 32


def _sample(fosp=True, bvm=True) -> SegDataSample:
    sample = SegDataSample()
    gt = torch.zeros(1, H, W, dtype=torch.long)
    gt[:, 4:12, 6:20] = 1
    sample.gt_sem_seg = PixelData(data=gt)
    prob = torch.zeros(1, H, W)
    prob[:, 8:16, 10:24] = 0.9
    sample.seg_logits = PixelData(data=prob)
    sample.pred_sem_seg = PixelData(data=(prob > 0.5).long())
    if fosp:
        sample.set_data({
            'pred_focus': PixelData(data=prob.clone()),
            'pred_alpha': PixelData(data=prob * 0.5),
            'pred_foreground': PixelData(data=torch.rand(3, H, W)),
            'pred_background': PixelData(data=torch.rand(3, H, W)),
        })
    if bvm:
        sample.set_data({
            'pred_uncertainty_total':
            PixelData(data=torch.rand(1, H, W)),
        })
    return sample


def _image():
    return np.full((H, W, 3), 100, np.uint8)


def test_registered_and_smoke_meta_by_default():
    vis = VISUALIZERS.build(dict(type='SmokeLocalVisualizer', name='vis_reg'))
    assert isinstance(vis, SmokeLocalVisualizer)
    assert tuple(vis.dataset_meta['classes']) == ('background', 'smoke')
    custom = SmokeLocalVisualizer(
        name='vis_meta',
        classes=['bg', 'fg'],
        palette=[[0, 0, 0], [0, 255, 0]])
    assert custom.dataset_meta == dict(
        classes=['bg', 'fg'], palette=[[0, 0, 0], [0, 255, 0]])
    with pytest.raises(ValueError, match='unknown colormap'):
        SmokeLocalVisualizer(name='vis_bad', colormap='rainbowish')


def test_panels_in_order_and_overlay_colours():
    vis = SmokeLocalVisualizer(name='vis_panels', alpha=1.0, draw_titles=False)
    panels = vis.draw_panels(_image(), _sample())
    assert list(panels) == [
        'ground truth', 'prediction', 'probability', 'focus', 'alpha',
        'foreground', 'background', 'uncertainty total'
    ]
    assert all(p.shape == (H, W, 3) for p in panels.values())
    pred = panels['prediction']
    # alpha=1: inside the region the smoke colour, outside untouched
    assert pred[12, 16].tolist() == [255, 96, 0]
    assert pred[2, 2].tolist() == [100, 100, 100]
    # probability 0.9 and 0 are drawn with the fixed [0, 1] colour range
    np.testing.assert_array_equal(panels['probability'][12, 16],
                                  colorize_map(np.full((1, 1), 0.9))[0, 0])
    np.testing.assert_array_equal(panels['probability'][0, 0],
                                  colorize_map(np.zeros((1, 1)))[0, 0])
    only = SmokeLocalVisualizer(
        name='vis_fields',
        map_fields=['pred_uncertainty_total'],
        draw_probability=False)
    assert list(only.draw_panels(_image(), _sample(), draw_gt=False)) == [
        'prediction', 'uncertainty total'
    ]


def test_add_datasample_grid_and_out_file(tmp_path):
    vis = SmokeLocalVisualizer(name='vis_out', panels_per_row=4)
    vis.add_datasample(
        'x', _image(), _sample(), out_file=str(tmp_path / 'x.png'))
    drawn = cv2.imread(str(tmp_path / 'x.png'))
    # 8 panels in 2 rows of 4, 2-pixel gaps
    assert drawn.shape == (2 * H + 2, 4 * W + 6, 3)
    assert vis.get_image().shape == drawn.shape
    vis.add_datasample(
        'y',
        _image(),
        _sample(fosp=False, bvm=False),
        draw_gt=False,
        out_file=str(tmp_path / 'y.png'))
    assert cv2.imread(str(tmp_path / 'y.png')).shape == (H, 2 * W + 2, 3)


def test_local_and_tensorboard_backends(tmp_path):
    pytest.importorskip('tensorboard')
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    vis = SmokeLocalVisualizer(
        name='vis_backends',
        vis_backends=[
            dict(type='LocalVisBackend'),
            dict(type='TensorboardVisBackend')
        ],
        save_dir=str(tmp_path))
    vis.add_datasample('frame', _image(), _sample(), step=3)
    vis.close()
    local = tmp_path / 'vis_data' / 'vis_image' / 'frame_3.png'
    assert local.is_file()
    assert cv2.imread(str(local)).shape == vis.get_image().shape
    events = glob.glob(str(tmp_path / 'vis_data' / 'events.out.tfevents.*'))
    assert events, os.listdir(tmp_path / 'vis_data')
    acc = EventAccumulator(str(tmp_path / 'vis_data'))
    acc.Reload()
    assert acc.Tags()['images'] == ['frame']
    image_event = acc.Images('frame')[0]
    assert image_event.step == 3
    assert (image_event.height, image_event.width) == vis.get_image().shape[:2]


def test_drawing_helpers():
    image = np.zeros((4, 4, 3), np.uint8)
    mask = np.zeros((2, 2), np.uint8)
    mask[0, 0] = 1  # resized with nearest neighbour to the image
    out = draw_smoke_overlay(image, mask, (200, 0, 0), 0.5, contour=False)
    assert out[:2, :2, 0].tolist() == [[100, 100], [100, 100]]
    assert out[2:, :, 0].sum() == 0
    with pytest.raises(ValueError, match='uint8 image'):
        draw_smoke_overlay(image.astype(np.float32), mask)
    with pytest.raises(ValueError, match='one shape'):
        tile_panels([image, np.zeros((5, 4, 3), np.uint8)])
    grid = tile_panels([image] * 3, per_row=2, gap=1)
    assert grid.shape == (9, 9, 3) and grid[4, 0].tolist() == [255] * 3


# A tiny SegFormer (as in tests/test_tools) for a fast tools/test.py run.
def test_test_tool_show_dir_with_the_smoke_visualizer(tmp_path, tiny_synthetic,
                                                      tiny_segformer,
                                                      tiny_segformer_options,
                                                      loader_options,
                                                      run_tool):
    """tools/test.py --show-dir draws with a config inheriting the snippet.
    """
    from mmsmoke.apis import init_model
    config = tmp_path / 'smokevis.py'
    config.write_text(
        "_base_ = ['{0}/_base_/models/segformer_mit-b0_binary.py',\n"
        "          '{0}/_base_/datasets/synthetic_smoke.py',\n"
        "          '{0}/_base_/visualizer_smoke.py',\n"
        "          '{0}/_base_/schedules/schedule_cpu_demo.py']\n"
        "model = dict(data_preprocessor=dict(size=(256, 256)),\n"
        "             pretrained=None, backbone=dict(init_cfg=None))\n".format(
            REPO / 'configs'))
    model = init_model(str(config), None, 'cpu', cfg_options=tiny_segformer)
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'ckpt.pth')
    show_dir = tmp_path / 'show'
    run_tool('tools/test.py', config, tmp_path / 'ckpt.pth', '--work-dir',
             tmp_path / 'work', '--show-dir', show_dir, '--cfg-options',
             *loader_options(tiny_synthetic,
                             splits=('test', )), *tiny_segformer_options)
    drawn = sorted(glob.glob(str(show_dir / '**' / '*.png'), recursive=True))
    assert len(drawn) == 8, drawn  # one drawing per test image
    # ground truth, prediction and probability panels side by side
    assert cv2.imread(drawn[0]).shape == (64, 3 * 64 + 4, 3)
