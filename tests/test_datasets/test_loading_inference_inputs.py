"""The smoke loaders on inference inputs: in-memory images, no masks."""
import numpy as np
import pytest
from PIL import Image

from mmsmoke.datasets.transforms.loading import (LoadSmokeAnnotations,
                                                 LoadSmokeImageFromFile)


def test_in_memory_images_are_converted_like_files():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = LoadSmokeImageFromFile()(dict(img=grey))
    assert out['img'].shape == (3, 4, 3)
    assert out['img_path'] is None
    assert out['ori_shape'] == (3, 4) and out['img_shape'] == (3, 4)
    np.testing.assert_array_equal(out['img'][..., 2], grey)

    bgra = np.random.default_rng(0).integers(0, 256, (5, 6, 4), np.uint8)
    out = LoadSmokeImageFromFile()(dict(img=bgra, img_path=None))
    np.testing.assert_array_equal(out['img'], bgra[..., :3])

    deep = np.full((2, 2, 3), 514, np.uint16)
    out = LoadSmokeImageFromFile(to_float32=True)(dict(img=deep))
    assert out['img'].dtype == np.float32
    assert np.all(out['img'] == 2.0)


def test_in_memory_bad_inputs_are_refused():
    with pytest.raises(KeyError, match='neither img_path nor'):
        LoadSmokeImageFromFile()(dict())
    with pytest.raises(TypeError, match='numpy array'):
        LoadSmokeImageFromFile()(dict(img=[[1, 2]]))
    with pytest.raises(ValueError, match='empty image'):
        LoadSmokeImageFromFile()(dict(img=np.zeros((0, 3, 3), np.uint8)))
    with pytest.raises(ValueError, match='in-memory image.*dtype'):
        LoadSmokeImageFromFile()(dict(img=np.zeros((2, 2, 3), np.float32)))


def test_a_path_still_wins_over_an_array(tmp_path):
    img = np.zeros((4, 5, 3), np.uint8)
    Image.fromarray(img).save(tmp_path / 'a.png')
    out = LoadSmokeImageFromFile()(
        dict(img_path=str(tmp_path / 'a.png'), img=np.ones((9, 9, 3))))
    assert out['img'].shape == (4, 5, 3)


def test_annotations_skip_inference_inputs_only(tmp_path):
    loader = LoadSmokeAnnotations()
    results = dict(
        img=np.zeros((4, 5, 3), np.uint8), img_path=None, ori_shape=(4, 5))
    out = loader(dict(results))
    assert 'gt_seg_map' not in out and 'seg_fields' not in out
    # A dataset sample (it carries mmengine's sample_idx and the dataset's
    # mask convention) without a mask is still an error.
    for marker in (dict(sample_idx=0), dict(mask_convention='zero_255')):
        with pytest.raises(KeyError, match='no seg_map_path'):
            loader(dict(results, img_path='x.jpg', **marker))
    with pytest.raises(KeyError, match='no seg_map_path'):
        loader(dict(results, seg_map_path=None))
