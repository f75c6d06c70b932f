import math

import pytest
import torch
from mmseg.registry import MODELS

from mmsmoke.models.decode_heads.bvm_head import (
    BVMHead, LatentEncoder, gaussian_kl_to_standard_normal)
from mmsmoke.models.layers import DenseASPP
from mmsmoke.models.losses.structure_loss import StructureLoss  # noqa: F401

IN_CHANNELS = [8, 16, 24, 32]
pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def bvm_head(shipped_model):
    """The head of configs/_base_/models/transbvm_r50.py at tiny widths;
    keyword arguments replace its fields."""

    def build(**kwargs):
        cfg = shipped_model('_base_/models/transbvm_r50.py')['decode_head']
        cfg.update(in_channels=IN_CHANNELS, channels=8, latent_channels=4)
        cfg.update(kwargs)
        return MODELS.build(cfg)

    return build


def _feats(n, size):
    return [
        torch.randn(n, c, size // s, size // s)
        for c, s in zip(IN_CHANNELS, (4, 8, 16, 32))
    ]


def test_output_shape_any_input_size(bvm_head):
    head = bvm_head().eval()
    for size in (64, 96):
        mu, _ = head.infer_latent(torch.randn(2, 3, size, size))
        out = head(_feats(2, size), z=mu)
        assert out.shape == (2, 1, size // 4, size // 4)


def test_kl_known_values(bvm_head):
    mu = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)]])
    expected = 0.5 * (1 + 1 - 0 - 1) + 0.5 * (0 + 2 - math.log(2.0) - 1)
    value = gaussian_kl_to_standard_normal(mu, logvar)
    assert value.item() == pytest.approx(expected, rel=1e-6)
    zero = gaussian_kl_to_standard_normal(torch.zeros(3, 8), torch.zeros(3, 8))
    assert zero.item() == 0.0
    # The prior is N(0, I), not the release's N(0, e): logvar = 1 is not
    # the optimum.
    assert gaussian_kl_to_standard_normal(torch.zeros(1, 8),
                                          torch.ones(1, 8)).item() > 0
    head = bvm_head(kl_weight=0.5)
    assert head.loss_kl(mu, logvar).item() == pytest.approx(
        0.5 * expected, rel=1e-6)


def test_reparameterisation_statistics():
    torch.manual_seed(0)
    mu = torch.tensor([[2.0, -1.0]]).expand(40000, 2)
    logvar = torch.tensor([[math.log(4.0), 0.0]]).expand(40000, 2)
    z = BVMHead.reparameterize(mu, logvar)
    torch.testing.assert_close(
        z.mean(0), torch.tensor([2.0, -1.0]), atol=0.05, rtol=0)
    torch.testing.assert_close(
        z.std(0), torch.tensor([2.0, 1.0]), atol=0.05, rtol=0)
    # Gradients reach mu and logvar.
    mu = torch.zeros(4, 2, requires_grad=True)
    logvar = torch.zeros(4, 2, requires_grad=True)
    BVMHead.reparameterize(mu, logvar).sum().backward()
    assert mu.grad is not None and logvar.grad is not None


def test_latent_samples_differ_the_posterior_mean_does_not(bvm_head):
    torch.manual_seed(1)
    head = bvm_head().eval()
    feats, image = _feats(2, 64), torch.randn(2, 3, 64, 64)
    mu, logvar = head.infer_latent(image)
    a = head(feats, z=head.reparameterize(mu, logvar))
    b = head(feats, z=head.reparameterize(mu, logvar))
    assert not torch.allclose(a, b)
    torch.testing.assert_close(head(feats, z=mu), head(feats, z=mu))
    # With a fixed z only the MC dropout remains, and only in train mode.
    z = torch.zeros(2, 8)
    torch.testing.assert_close(head(feats, z=z), head(feats, z=z))
    head.mc_dropout.train()
    assert not torch.allclose(head(feats, z=z), head(feats, z=z))


def test_loss_items_and_no_unused_parameters(bvm_head, seg_sample):
    torch.manual_seed(2)
    head = bvm_head().train()
    mu, logvar = head.infer_latent(torch.randn(2, 3, 64, 64))
    logits = head(_feats(2, 64), z=head.reparameterize(mu, logvar))
    samples = [seg_sample(torch.randint(0, 2, (1, 64, 64))) for _ in range(2)]
    losses = head.loss_by_feat(logits, samples)
    assert set(losses) >= {'loss_structure'}
    (losses['loss_structure'] + head.loss_kl(mu, logvar)).backward()
    unused = [n for n, p in head.named_parameters() if p.grad is None]
    assert unused == []


def test_predict_resizes_like_stock_head(bvm_head):
    head = bvm_head().eval()
    metas = [dict(img_shape=(64, 64), pad_shape=(64, 64))] * 2
    out = head.predict_by_feat(head(_feats(2, 64), z=torch.zeros(2, 8)), metas)
    assert out.shape == (2, 1, 64, 64)


def test_blocks():
    enc = LatentEncoder(3, 4, 8)
    assert len(enc.convs) == 5
    mu, logvar = enc(torch.randn(2, 3, 70, 50))
    assert mu.shape == logvar.shape == (2, 8)
    aspp = DenseASPP(
        16, 8, bottleneck_channels=8, growth_channels=4, dilations=(1, 2, 3))
    # Dense connectivity: layer i sees the input and all earlier outputs.
    assert [layer[0].conv.in_channels for layer in aspp.layers] == [16, 20, 24]
    assert aspp.project.conv.in_channels == 28
    assert aspp(torch.randn(1, 16, 10, 10)).shape == (1, 8, 10, 10)


def test_errors(bvm_head):
    head = bvm_head()
    with pytest.raises(ValueError, match='input image'):
        head.infer_latent(None)
    with pytest.raises(ValueError, match='BVMEncoderDecoder'):
        head(_feats(1, 64))
    with pytest.raises(ValueError, match='z must have shape'):
        head(_feats(1, 64), z=torch.zeros(1, 3))
    with pytest.raises(ValueError, match='four feature levels'):
        bvm_head(in_channels=[8, 16, 24], in_index=[0, 1, 2])
