"""The shared base: named maps through whole/slide inference and restore."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

from mmsmoke.models.segmentors import SmokeEncoderDecoder

register_all_modules(init_default_scope=True)


class _RedMap(SmokeEncoderDecoder):
    """Adds the red channel of the RGB image as the map ``red``."""

    needs_images = True

    def map_names(self, test_cfg=None):
        return ('red', )

    def encode_decode_with_maps(self,
                                inputs,
                                images,
                                batch_img_metas,
                                test_cfg=None):
        logits, _ = super().encode_decode_with_maps(inputs, images,
                                                    batch_img_metas)
        return logits, dict(red=images[:, :1])


def _build(cls=SmokeEncoderDecoder, tiny_cfg=None, **test_cfg):
    cfg = tiny_cfg('SmokeEncoderDecoder', test_cfg=test_cfg or None)
    cfg.pop('type')
    cfg['data_preprocessor'] = dict(
        type='SmokeDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True)
    return cls(**cfg).eval()


def _batch(model, hw, meta=None):
    img = torch.randint(0, 256, (3, *hw), dtype=torch.uint8)
    sample = SegDataSample()
    sample.set_metainfo(dict(dict(img_shape=hw, ori_shape=hw), **(meta or {})))
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, *hw, dtype=torch.long))
    return img, model.data_preprocessor(
        dict(inputs=[img], data_samples=[sample]), False)


@pytest.mark.parametrize('test_cfg', [
    dict(mode='whole'),
    dict(mode='slide', crop_size=(32, 32), stride=(20, 20)),
])
def test_maps_are_averaged_and_written_as_pred_fields(tiny_segmentor_cfg,
                                                      test_cfg):
    model = _build(_RedMap, tiny_segmentor_cfg, **test_cfg)
    img, batch = _batch(model, (50, 70))
    with torch.no_grad():
        res = model.predict(batch['inputs'], batch['data_samples'])[0]
    # a window-wise map of the image, averaged over the windows, is the map
    # of the whole image; the image is the input's (BGR -> RGB), inverted
    torch.testing.assert_close(
        res.pred_red.data, img[2:3].float() / 255, atol=2e-6, rtol=0)
    assert res.seg_logits.data.shape == (1, 50, 70)


def test_maps_are_restored_like_the_logits(tiny_segmentor_cfg):
    model = _build(_RedMap, tiny_segmentor_cfg)
    img, batch = _batch(
        model, (24, 32),
        dict(ori_shape=(48, 64), flip=True, flip_direction='horizontal'))
    with torch.no_grad():
        res = model.predict(batch['inputs'], batch['data_samples'])[0]
    red = img[2:3].float()[None] / 255
    expected = torch.nn.functional.interpolate(
        red.flip(3), size=(48, 64), mode='bilinear', align_corners=False)[0]
    torch.testing.assert_close(res.pred_red.data, expected, atol=2e-6, rtol=0)
    assert res.seg_logits.data.shape == (1, 48, 64)


def test_plain_base_is_an_encoder_decoder_with_guards(tiny_segmentor_cfg):
    model = _build(tiny_cfg=tiny_segmentor_cfg)
    _, batch = _batch(model, (64, 64))
    with torch.no_grad():
        res = model.predict(batch['inputs'], batch['data_samples'])[0]
    assert [k for k in res.keys() if k.startswith('pred_')] == ['pred_sem_seg']
    with pytest.raises(ValueError, match='model.test_cfg.mode'):
        _build(tiny_cfg=tiny_segmentor_cfg, mode='patch')
    with pytest.raises(ValueError, match='model.test_cfg.crop_size'):
        _build(tiny_cfg=tiny_segmentor_cfg, mode='slide', stride=(8, 8))


def test_images_need_the_smoke_pre_processor(tiny_segmentor_cfg):
    cfg = tiny_segmentor_cfg('SmokeEncoderDecoder')
    cfg.pop('type')
    cfg['data_preprocessor'] = dict(type='SegDataPreProcessor')
    model = _RedMap(**cfg).eval()
    with pytest.raises(ValueError, match='SmokeDataPreProcessor'):
        model.predict(torch.zeros(1, 3, 64, 64))


def test_one_channel_accuracy_is_thresholded(tiny_segmentor_cfg):
    model = _build(tiny_cfg=tiny_segmentor_cfg).train()
    with torch.no_grad():
        model.decode_head.conv_seg.weight.zero_()
        model.decode_head.conv_seg.bias.fill_(20.0)  # smoke everywhere
    label = torch.zeros(1, 64, 64, dtype=torch.long)
    label[:, :16] = 1  # a quarter is smoke
    sample = SegDataSample(gt_sem_seg=PixelData(data=label))
    sample.set_metainfo(dict(img_shape=(64, 64), ori_shape=(64, 64)))
    losses = model.loss(torch.randn(1, 3, 64, 64), [sample])
    assert losses['decode.acc_seg'].item() == pytest.approx(25.0)
