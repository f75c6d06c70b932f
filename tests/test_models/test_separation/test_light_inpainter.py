import pytest
import torch

from mmsmoke.models.separation.light_inpainter import LightInpainter

@pytest.mark.parametrize('size', [(32, 32), (37, 53)])
def test_light_inpainter_shapes_any_size(size):
    net = LightInpainter(base_channels=4, num_downsamples=3)
    image = torch.rand(2, 3, *size)
    hole = torch.zeros(2, 1, *size)
    hole[..., 5:15, 5:15] = 1
    out = net(image, hole)
    assert out.shape == (2, 3) + size
    assert out.min() >= 0 and out.max() <= 1


def test_light_inpainter_does_not_read_hidden_pixels():
    torch.manual_seed(0)
    net = LightInpainter(base_channels=4).eval()
    image = torch.rand(1, 3, 32, 32)
    hole = torch.zeros(1, 1, 32, 32)
    hole[..., 8:24, 8:24] = 1
    changed = image.clone()
    changed[..., 8:24, 8:24] = torch.rand(1, 3, 16, 16)
    assert torch.allclose(net(image, hole), net(changed, hole))


def test_light_inpainter_gradients_and_param_count():
    net = LightInpainter()
    assert sum(p.numel() for p in net.parameters()) < 500_000
    image = torch.rand(1, 3, 24, 24)
    hole = (torch.rand(1, 1, 24, 24) > 0.5).float()
    net(image, hole).mean().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_light_inpainter_learns_to_fill_flat_images():
    torch.manual_seed(0)
    net = LightInpainter(base_channels=8)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    colours = torch.rand(4, 3, 1, 1)
    image = colours.expand(4, 3, 32, 32).contiguous()
    hole = torch.zeros(4, 1, 32, 32)
    hole[..., 8:24, 8:24] = 1
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = ((net(image, hole) - image).abs() * hole).sum() / hole.sum()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_light_inpainter_errors():
    net = LightInpainter(base_channels=4)
    with pytest.raises(ValueError, match='RGB'):
        net(torch.rand(1, 1, 8, 8), torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match='hole'):
        net(torch.rand(1, 3, 8, 8), torch.zeros(1, 8, 8))
    with pytest.raises(ValueError, match='base_channels'):
        LightInpainter(base_channels=0)
