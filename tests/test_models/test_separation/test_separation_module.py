import pytest
import torch
from mmseg.registry import MODELS

from mmsmoke.models.separation.separation_module import SeparationModule

def _module(**kwargs):
    cfg = dict(
        type='SeparationModule',
        inpainter=dict(type='LightInpainter', base_channels=4),
        matting_channels=4)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _focus(n=2, h=4, w=4):
    logit = torch.full((n, 1, h, w), -10.0)
    logit[..., 1:3, 1:3] = 10.0  # confident focus in the centre
    return logit


def test_holes_from_focus():
    sep = _module(hole_threshold=0.15)
    hole = sep.holes_from_focus(_focus(), (32, 32))
    assert hole.shape == (2, 1, 32, 32)
    assert hole[..., 16, 16].eq(1).all() and hole[..., 0, 0].eq(0).all()
    assert not hole.requires_grad


def test_forward_outputs_are_images():
    sep = _module(work_scale=1.0)
    image = torch.rand(2, 3, 32, 40)
    out = sep(image, _focus())
    assert out['background'].shape == (2, 3, 32, 40)
    assert out['foreground'].shape == (2, 3, 32, 40)
    assert out['alpha'].shape == (2, 1, 32, 40)
    assert out['feature'].shape == (2, SeparationModule.out_channels, 32, 40)
    for key in ('background', 'foreground', 'alpha', 'smoke'):
        assert out[key].min() >= 0 and out[key].max() <= 1
    outside = out['hole'] == 0
    # outside the focus region: the background is the image, no smoke
    assert torch.equal(out['background'] * outside, image * outside)
    assert (out['alpha'][outside] == 0).all()
    assert torch.allclose(out['foreground'], out['alpha'] * out['smoke'])


def test_work_scale_halves_the_maps():
    sep = _module()  # default work_scale=0.5
    out = sep(torch.rand(2, 3, 32, 40), _focus())
    assert out['background'].shape == (2, 3, 16, 20)
    assert out['feature'].shape == (2, 7, 16, 20)
    assert sep.work_size((33, 41)) == (16, 20)


def test_label_shrinks_conservatively():
    sep = _module()
    label = torch.tensor([[[0, 0, 0, 1], [0, 0, 0, 0], [0, 255, 0, 0],
                           [0, 0, 1, 255]]])
    small = sep._label_to_work_size(label, (2, 2))
    # a cell is smoke-free only if all its pixels are; any ignored pixel
    # makes it ignored
    assert small.tolist() == [[[[0, 1], [255, 255]]]]


def test_loss_keys_and_gradient_routing():
    torch.manual_seed(0)
    sep = _module()
    image = torch.rand(2, 3, 32, 32)
    label = torch.zeros(2, 1, 32, 32, dtype=torch.long)
    label[..., 12:20, 12:20] = 1
    label[..., :, -2:] = 255
    out, losses = sep.loss(image, _focus(), label)
    assert set(losses) == {'loss_inpaint', 'loss_formation', 'loss_alpha'}
    assert all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())
    # the inpainter is trained by the inpainting loss only
    losses['loss_formation'].backward(retain_graph=True)
    losses['loss_alpha'].backward(retain_graph=True)
    assert all(p.grad is None for p in sep.inpainter.parameters())
    assert all(p.grad is not None for p in sep.matting.parameters())
    losses['loss_inpaint'].backward()
    assert all(p.grad is not None for p in sep.inpainter.parameters())
    # the separation feature carries gradient to the matting net only
    sep.zero_grad()
    out = sep(image, _focus())
    out['feature'].sum().backward()
    assert all(p.grad is None for p in sep.inpainter.parameters())


def test_loss_resizes_label_and_supports_no_random_holes():
    sep = _module(num_random_holes=0)
    image = torch.rand(1, 3, 32, 32)
    _, losses = sep.loss(image, _focus(1), torch.zeros(1, 16, 16).long())
    assert losses['loss_inpaint'] > 0


def test_separation_training_reduces_losses():
    torch.manual_seed(0)
    sep = _module()
    # smooth backgrounds with a grey translucent blob as smoke
    yy, xx = torch.meshgrid(
        torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing='ij')
    bg = torch.stack([yy, xx, 1 - yy], 0)[None].repeat(2, 1, 1, 1)
    label = torch.zeros(2, 1, 32, 32, dtype=torch.long)
    label[..., 10:22, 10:22] = 1
    image = bg * (1 - 0.5 * label) + 0.5 * 0.8 * label
    opt = torch.optim.Adam(sep.parameters(), lr=3e-3)
    first = last = None
    for _ in range(25):
        opt.zero_grad()
        _, losses = sep.loss(image, _focus(), label)
        total = sum(losses.values())
        total.backward()
        opt.step()
        first = total.item() if first is None else first
        last = total.item()
    assert last < 0.7 * first


def test_errors():
    sep = _module()
    with pytest.raises(ValueError, match='RGB'):
        sep(torch.rand(1, 1, 8, 8), _focus(1))
    with pytest.raises(ValueError, match='hole_threshold'):
        _module(hole_threshold=1.5)
    with pytest.raises(ValueError, match='work_scale'):
        _module(work_scale=0)
