"""``PixelLosses``: the losses a segmentor applies to its head's logits
with maps of the batch."""
import pytest
import torch
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules
from torch import nn

from mmsmoke.models.losses.pixel_losses import PixelLosses

register_all_modules(init_default_scope=True)


class _Recorder(nn.Module):
    """Returns the mean of what it gets and records the keyword maps."""

    def __init__(self, name='loss_rec'):
        super().__init__()
        self.name = name
        self.calls = []

    @property
    def loss_name(self):
        return self.name

    def forward(self, seg_logits, seg_label, weight=None, ignore_index=255,
                transmission=None):
        self.calls.append(transmission)
        return seg_logits.mean() + transmission.mean()


class _Plain(nn.Module):

    loss_name = 'loss_rec'

    def forward(self, seg_logits, seg_label, weight=None, ignore_index=255):
        return seg_logits.sum() * 0 + 2.0


def test_maps_are_read_once_from_the_signatures():
    losses = PixelLosses([_Recorder(), _Plain()])
    assert losses.map_arguments == [('transmission', ), ()]
    assert losses.needed_maps == ('transmission', )
    assert PixelLosses([_Plain()]).needed_maps == ()
    built = PixelLosses(
        [dict(type='UncertaintyCalibratedEntropyLoss', loss_weight=0.01)])
    assert built.needed_maps == ('uncertainty', )


def test_items_of_one_name_are_summed_and_given_maps_are_used():
    rec = _Recorder()
    losses = PixelLosses([rec, _Plain()])
    logits = torch.full((2, 1, 4, 4), 0.5)
    label = torch.zeros(2, 4, 4, dtype=torch.long)
    trans = torch.full((2, 1, 4, 4), 0.25)
    out = losses(logits, label, 255, maps=dict(transmission=trans))
    assert set(out) == {'loss_rec'}
    torch.testing.assert_close(out['loss_rec'], torch.tensor(0.5 + 0.25 + 2))
    assert rec.calls[0] is trans


def test_the_transmission_is_estimated_at_the_label_size():
    rec = _Recorder()
    losses = PixelLosses([rec], transmission_cfg=dict(kernel_size=3))
    images = torch.rand(2, 3, 16, 16)
    out = losses(
        torch.zeros(2, 1, 8, 8),
        torch.zeros(2, 8, 8, dtype=torch.long),
        255,
        images=images)
    trans = rec.calls[0]
    assert trans.shape == (2, 1, 8, 8)
    assert 0 <= trans.min() and trans.max() <= 1
    torch.testing.assert_close(out['loss_rec'], trans.mean())
    torch.testing.assert_close(trans, losses.transmission(images, (8, 8)))


def test_errors_name_the_config_key():
    with pytest.raises(TypeError, match='model.pixel_losses'):
        PixelLosses([nn.Identity()])
    losses = PixelLosses(
        [dict(type='UncertaintyCalibratedEntropyLoss', loss_weight=0.01)])
    with pytest.raises(ValueError, match='needs `uncertainty`.*'
                       'TransmissionEncoderDecoder does not provide'):
        losses(
            torch.zeros(1, 1, 4, 4),
            torch.zeros(1, 4, 4, dtype=torch.long),
            255,
            provider='TransmissionEncoderDecoder')
    with pytest.raises(ValueError, match='no RGB image'):
        PixelLosses([_Recorder()])(
            torch.zeros(1, 1, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long),
            255)


def test_checkpoint_keys_stay_those_of_a_module_list():
    losses = PixelLosses(
        [dict(type='TransmissionCoherenceLoss', loss_weight=0.3)])
    assert isinstance(losses, nn.ModuleList) and len(losses) == 1
    assert MODELS.get('PixelLosses') is PixelLosses
