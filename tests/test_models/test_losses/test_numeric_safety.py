"""Every loss stays finite, with finite gradients, on degenerate inputs.

Degenerate inputs are the ones real smoke data and early training produce:
all-black, all-white, constant and saturated images; all-smoke, smoke-free
and fully ignored masks; extreme logits (+-1e4, the range a diverging or
over-confident head reaches). Each loss is checked exhaustively on the named
extremes, then on random shapes and values drawn by hypothesis. float32 on
the CPU throughout.
"""
import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmsmoke.models.losses import (AlphaPriorLoss, ImageFormationLoss,
                                   InpaintingLoss, StructureLoss,
                                   TransmissionCoherenceLoss,
                                   UncertaintyCalibratedEntropyLoss)
from mmsmoke.models.utils.transmission import estimate_transmission

IMAGES = ('black', 'white', 'constant', 'saturated', 'random')
MASKS = ('all_smoke', 'smoke_free', 'random', 'with_ignore', 'all_ignore')
LOGITS = ('plus_1e4', 'minus_1e4', 'mixed_1e4', 'right_1e4', 'wrong_1e4',
          'zero', 'normal')
UNCERTAINTIES = ('zero', 'one', 'tiny', 'random')
SHAPE = (2, 7, 9)  # odd sizes, smaller than the default kernels
SETTINGS = settings(
    max_examples=40, deadline=None, database=None, derandomize=True)


def make_image(kind: str,
               n: int,
               h: int,
               w: int,
               gen: torch.Generator,
               value: float = 0.5) -> torch.Tensor:
    """An (N, 3, H, W) float32 image in [0, 1] of the given kind."""
    if kind == 'black':
        return torch.zeros(n, 3, h, w)
    if kind == 'white':
        return torch.ones(n, 3, h, w)
    if kind == 'constant':
        return torch.full((n, 3, h, w), float(value))
    if kind == 'saturated':  # every channel clipped at 0 or 1
        return torch.randint(0, 2, (n, 3, h, w), generator=gen).float()
    return torch.rand(n, 3, h, w, generator=gen)


def make_label(kind: str, n: int, h: int, w: int,
               gen: torch.Generator) -> torch.Tensor:
    """An (N, H, W) long label in {0, 1, 255} of the given kind."""
    if kind == 'all_smoke':
        return torch.ones(n, h, w, dtype=torch.long)
    if kind == 'smoke_free':
        return torch.zeros(n, h, w, dtype=torch.long)
    if kind == 'all_ignore':
        return torch.full((n, h, w), 255, dtype=torch.long)
    label = torch.randint(0, 2, (n, h, w), generator=gen)
    if kind == 'with_ignore':
        label[:, :, :max(1, w // 3)] = 255
    return label


def make_logits(kind: str,
                label: torch.Tensor,
                gen: torch.Generator,
                channels: int = 1) -> torch.Tensor:
    """(N, C, H, W) float32 logits of the given kind, a leaf with grad."""
    n, h, w = label.shape
    shape = (n, channels, h, w)
    smoke = (label == 1).unsqueeze(1).expand(shape).float()
    if channels > 1:  # channel 0 is background
        smoke = smoke.clone()
        smoke[:, 0] = 1 - smoke[:, 0]
    big = 1e4
    if kind == 'plus_1e4':
        x = torch.full(shape, big)
    elif kind == 'minus_1e4':
        x = torch.full(shape, -big)
    elif kind == 'mixed_1e4':
        x = big * (2 * torch.randint(0, 2, shape, generator=gen).float() - 1)
    elif kind == 'right_1e4':  # confident and right
        x = big * (2 * smoke - 1)
    elif kind == 'wrong_1e4':  # confident and wrong
        x = -big * (2 * smoke - 1)
    elif kind == 'zero':
        x = torch.zeros(shape)
    else:
        x = torch.randn(shape, generator=gen) * 3
    return x.float().requires_grad_(True)


#: The constant uncertainty maps by kind ('random' is uniform in [0, 1)).
CONSTANT_UNCERTAINTIES = dict(zero=0.0, one=1.0, tiny=1e-30)


def make_uncertainty(kind: str, n: int, h: int, w: int,
                     gen: torch.Generator) -> torch.Tensor:
    if kind in CONSTANT_UNCERTAINTIES:
        return torch.full((n, 1, h, w), CONSTANT_UNCERTAINTIES[kind])
    return torch.rand(n, 1, h, w, generator=gen)


def assert_finite(loss: torch.Tensor,
                  *leaves: torch.Tensor,
                  what: str = '') -> None:
    assert loss.dim() == 0 and loss.dtype == torch.float32, what
    assert torch.isfinite(loss), f'{what}: loss {loss.item()}'
    loss.backward()
    for leaf in leaves:
        assert leaf.grad is not None, what
        assert torch.isfinite(leaf.grad).all(), f'{what}: gradient'


# ------------------------------------------------- segmentation losses
def _structure(logits, label, image, gen):
    return StructureLoss(edge_kernel_size=5)(logits, label)


def _coherence(logits, label, image, gen):
    trans = estimate_transmission(image, kernel_size=3)
    return TransmissionCoherenceLoss()(logits, label, transmission=trans)


def _calibrated(logits, label, image, gen, uncertainty='random'):
    n, _, h, w = logits.shape
    u = make_uncertainty(uncertainty, n, h, w, gen).to(logits.device)
    return UncertaintyCalibratedEntropyLoss()(logits, label, uncertainty=u)


def _alpha_prior(logits, label, image, gen):
    return AlphaPriorLoss()(logits.sigmoid(), label)


SEG_LOSSES = dict(
    structure=_structure,
    coherence=_coherence,
    calibrated=_calibrated,
    alpha_prior=_alpha_prior)


@pytest.mark.parametrize('name', sorted(SEG_LOSSES))
def test_segmentation_losses_on_every_named_extreme(name):
    gen = torch.Generator().manual_seed(0)
    n, h, w = SHAPE
    fn = SEG_LOSSES[name]
    for img_kind, mask_kind, logit_kind in itertools.product(
            IMAGES, MASKS, LOGITS):
        what = f'{name} image={img_kind} mask={mask_kind} logits={logit_kind}'
        image = make_image(img_kind, n, h, w, gen)
        label = make_label(mask_kind, n, h, w, gen)
        logits = make_logits(logit_kind, label, gen)
        assert_finite(fn(logits, label, image, gen), logits, what=what)


def test_calibrated_entropy_on_every_temperature_and_softmax():
    """U_p of 0 or 1e-30 is clamped; two-channel logits use log_softmax."""
    gen = torch.Generator().manual_seed(1)
    n, h, w = SHAPE
    image = torch.zeros(n, 3, h, w)
    for mask_kind, logit_kind, u_kind, channels in itertools.product(
            MASKS, LOGITS, UNCERTAINTIES, (1, 2)):
        what = f'{mask_kind} {logit_kind} U={u_kind} C={channels}'
        label = make_label(mask_kind, n, h, w, gen)
        logits = make_logits(logit_kind, label, gen, channels)
        loss = _calibrated(logits, label, image, gen, uncertainty=u_kind)
        assert_finite(loss, logits, what=what)


def test_coherence_softmax_and_saturated_transmission():
    gen = torch.Generator().manual_seed(2)
    n, h, w = SHAPE
    loss_fn = TransmissionCoherenceLoss(scale_factor=0.5)
    for trans_value, logit_kind in itertools.product((0.0, 1.0), LOGITS):
        label = make_label('random', n, h, w, gen)
        logits = make_logits(logit_kind, label, gen, channels=2)
        trans = torch.full((n, 1, h, w), trans_value)
        assert_finite(
            loss_fn(logits, label, transmission=trans),
            logits,
            what=f'T={trans_value} {logit_kind}')


def test_extreme_logits_give_the_limit_values():
    """Confident and right costs ~0; confident and wrong stays finite."""
    gen = torch.Generator().manual_seed(3)
    label = make_label('random', *SHAPE, gen)
    right = make_logits('right_1e4', label, gen)
    wrong = make_logits('wrong_1e4', label, gen)
    loss = StructureLoss(edge_kernel_size=5)
    assert loss(right, label).item() == pytest.approx(0.0, abs=1e-6)
    # BCE with logits is linear in the logit on the wrong side: ~1e4.
    assert 1e3 < loss(wrong, label).item() < 1e5
    ent = UncertaintyCalibratedEntropyLoss()
    u = torch.full((SHAPE[0], 1, *SHAPE[1:]), 1e-30)
    assert ent(right, label, uncertainty=u).item() == 0.0


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
@pytest.mark.parametrize('name', sorted(SEG_LOSSES))
def test_half_precision_inputs_are_computed_in_float32(name, dtype):
    """What a head hands its losses under AMP (a dtype check, not autocast).

    In float16 the structure loss of 40x44 confidently wrong pixels summed
    to inf and the calibrated entropy gave nan before the losses upcast.
    """
    gen = torch.Generator().manual_seed(5)
    n, h, w = 2, 40, 44
    for img_kind, mask_kind, logit_kind in itertools.product(
        ('black', 'white'), MASKS, LOGITS):
        what = f'{name} {dtype} {img_kind} {mask_kind} {logit_kind}'
        image = make_image(img_kind, n, h, w, gen).to(dtype)
        label = make_label(mask_kind, n, h, w, gen)
        logits = make_logits(logit_kind, label,
                             gen).detach().to(dtype).requires_grad_(True)
        kwargs = dict(uncertainty='zero') if name == 'calibrated' else {}
        loss = SEG_LOSSES[name](logits, label, image, gen, **kwargs)
        assert_finite(loss, logits, what=what)
        assert logits.grad.dtype == dtype


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision_separation_losses_do_not_overflow(dtype):
    # 1 x 260 x 260 > 65504 pixels, each with the largest error 1.
    shape = (1, 3, 260, 260)
    image = torch.zeros(shape, dtype=dtype)
    ones = torch.ones(shape, dtype=dtype, requires_grad=True)
    alpha = torch.ones(1, 1, *shape[2:], dtype=dtype, requires_grad=True)
    background = torch.zeros(shape, dtype=dtype, requires_grad=True)
    loss = ImageFormationLoss()(
        image, alpha, ones, background, valid_mask=torch.ones(1, *shape[2:]))
    assert loss.item() == 1.0
    assert_finite(loss, alpha, ones, background)
    pred = torch.ones(shape, dtype=dtype, requires_grad=True)
    loss = InpaintingLoss()(pred, image, valid_mask=torch.ones(1, *shape[2:]))
    assert loss.item() == 1.0
    assert_finite(loss, pred)
    loss = AlphaPriorLoss()(alpha, torch.zeros(1, *shape[2:]))
    assert loss.item() == pytest.approx(1.05)
    alpha.grad = None
    assert_finite(loss, alpha)


@pytest.mark.parametrize('device', [
    'cpu',
    pytest.param(
        'cuda',
        marks=pytest.mark.skipif(
            not torch.cuda.is_available(), reason='needs a CUDA GPU'))
])
def test_losses_under_float16_autocast(device):
    """The losses inside ``torch.autocast(float16)``, as AMP runs them.

    Autocast keeps some reductions in float32 on CUDA but not on the CPU,
    so the CPU case is a proxy; run the CUDA case on a GPU machine.
    """
    gen = torch.Generator().manual_seed(6)
    n, h, w = 2, 40, 44
    conv = torch.nn.Conv2d(1, 1, 1).to(device)
    for name, img_kind, mask_kind, logit_kind in itertools.product(
            sorted(SEG_LOSSES), ('black', 'white'), MASKS, LOGITS):
        what = f'{device} {name} {img_kind} {mask_kind} {logit_kind}'
        image = make_image(img_kind, n, h, w, gen).to(device)
        label = make_label(mask_kind, n, h, w, gen).to(device)
        raw = make_logits(logit_kind, label.cpu(), gen).to(device)
        raw = raw.detach().requires_grad_(True)
        with torch.no_grad():
            conv.weight.fill_(1.0)
            conv.bias.zero_()
        with torch.autocast(device, dtype=torch.float16):
            logits = conv(raw)  # float16, as a head's output under AMP
            assert logits.dtype == torch.float16
            kwargs = dict(uncertainty='zero') if name == 'calibrated' \
                else {}
            loss = SEG_LOSSES[name](logits, label, image, gen, **kwargs)
        assert torch.isfinite(loss), what
        loss.backward()
        assert torch.isfinite(raw.grad).all(), what


# -------------------------------------------------- separation losses
def _saturated_alpha(kind: str, n: int, h: int, w: int,
                     gen: torch.Generator) -> torch.Tensor:
    """Opacity from extreme logits: exactly 0, exactly 1, or mixed."""
    label = make_label('random', n, h, w, gen)
    return make_logits(kind, label, gen).detach().sigmoid()


def test_separation_losses_on_every_named_extreme():
    gen = torch.Generator().manual_seed(4)
    n, h, w = SHAPE
    formation = ImageFormationLoss()
    inpaint = InpaintingLoss()
    for img_kind, bg_kind, alpha_kind, mask_kind in itertools.product(
            IMAGES, IMAGES, LOGITS, MASKS):
        what = (f'image={img_kind} background={bg_kind} alpha={alpha_kind} '
                f'mask={mask_kind}')
        image = make_image(img_kind, n, h, w, gen)
        label = make_label(mask_kind, n, h, w, gen)
        background = make_image(bg_kind, n, h, w, gen).requires_grad_(True)
        smoke = make_image('white', n, h, w, gen).requires_grad_(True)
        alpha = _saturated_alpha(alpha_kind, n, h, w, gen).requires_grad_(True)
        valid = (label == 0).float()
        loss = formation(image, alpha, smoke, background, valid_mask=valid)
        assert_finite(loss, alpha, smoke, background, what=what)
        pred = make_image(bg_kind, n, h, w, gen).requires_grad_(True)
        assert_finite(
            inpaint(pred, image, valid_mask=label == 0), pred, what=what)


def test_empty_masks_give_zero_losses_connected_to_the_graph():
    n, h, w = SHAPE
    pred = torch.rand(n, 3, h, w, requires_grad=True)
    empty = torch.zeros(n, h, w)
    loss = InpaintingLoss()(pred, torch.zeros(n, 3, h, w), valid_mask=empty)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))
    alpha = torch.rand(n, 1, h, w, requires_grad=True)
    ignored = torch.full((n, h, w), 255)
    loss = AlphaPriorLoss()(alpha, ignored)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(alpha.grad).all()


# --------------------------------------------------- property-based
case = st.fixed_dictionaries(
    dict(
        n=st.integers(1, 2),
        h=st.integers(1, 12),
        w=st.integers(1, 12),
        image=st.sampled_from(IMAGES),
        value=st.floats(0.0, 1.0, width=32),
        mask=st.sampled_from(MASKS),
        logits=st.sampled_from(LOGITS),
        scale=st.sampled_from((1.0, 1e2, 1e4)),
        uncertainty=st.sampled_from(UNCERTAINTIES),
        seed=st.integers(0, 2**16)))


def case_inputs(c: dict):
    """The generator, image and label of a hypothesis ``case``."""
    gen = torch.Generator().manual_seed(c['seed'])
    n, h, w = c['n'], c['h'], c['w']
    image = make_image(c['image'], n, h, w, gen, c['value'])
    return gen, image, make_label(c['mask'], n, h, w, gen)


@SETTINGS
@given(case)
def test_property_segmentation_losses(c):
    gen, image, label = case_inputs(c)
    base = make_logits(c['logits'], label, gen).detach()
    # Rescale the sign pattern: |logit| up to scale, any size down to 1x1.
    logits = (base.clamp(-1, 1) * c['scale']).requires_grad_(True)
    for name, fn in SEG_LOSSES.items():
        logits.grad = None
        if name == 'calibrated':
            loss = fn(logits, label, image, gen, uncertainty=c['uncertainty'])
        else:
            loss = fn(logits, label, image, gen)
        assert_finite(loss, logits, what=f'{name} {c}')


@SETTINGS
@given(case)
def test_property_separation_losses(c):
    gen, image, label = case_inputs(c)
    n, h, w = label.shape
    alpha = _saturated_alpha(c['logits'], n, h, w, gen).requires_grad_(True)
    smoke = torch.rand(n, 3, h, w, generator=gen).requires_grad_(True)
    background = make_image(c['image'], n, h, w, gen,
                            1 - c['value']).requires_grad_(True)
    loss = ImageFormationLoss()(image, alpha, smoke, background)
    assert_finite(loss, alpha, smoke, background, what=str(c))
    alpha.grad = None
    assert_finite(AlphaPriorLoss()(alpha, label), alpha, what=str(c))
    background.grad = None
    loss = InpaintingLoss()(background, image, valid_mask=label == 0)
    assert_finite(loss, background, what=str(c))
