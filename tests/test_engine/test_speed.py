"""mmsmoke.engine.speed: channels_last conversion and part-wise compile."""
import pytest
import torch

from mmsmoke.engine import ChannelsLastHook, compile_submodules
from mmsmoke.engine.speed import to_channels_last, unwrap_segmentor


def _model(cfg_factory):
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(cfg_factory()).eval()


def _is_nhwc(t: torch.Tensor) -> bool:
    return t.is_contiguous(memory_format=torch.channels_last)


def test_to_channels_last_weights_inputs_and_undo(tiny_segmentor_cfg):
    model = _model(tiny_segmentor_cfg)
    reference = _model(tiny_segmentor_cfg)
    names = list(model.state_dict())
    params = dict(model.named_parameters())
    handle = to_channels_last(model)
    assert to_channels_last(model) is handle  # once only
    assert list(model.state_dict()) == names
    # the same parameter objects (an optimiser built before still works)
    assert all(p is params[n] for n, p in model.named_parameters())
    conv = model.backbone.stem[0].weight
    assert conv.shape[1] > 1 and _is_nhwc(conv) and not conv.is_contiguous()
    data = dict(inputs=[
        torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8) for _ in range(2)
    ])
    inputs = model.data_preprocessor(data, False)['inputs']
    assert _is_nhwc(inputs) and not inputs.is_contiguous()
    with torch.no_grad():
        got = model(inputs, mode='tensor')
        want = reference(inputs.contiguous(), mode='tensor')
    assert torch.allclose(got, want, atol=1e-4, rtol=1e-4)

    handle.remove()
    assert model.backbone.stem[0].weight.is_contiguous()
    assert model.data_preprocessor(data, False)['inputs'].is_contiguous()
    assert to_channels_last(model) is not handle  # can be applied again


def test_to_channels_last_needs_a_data_preprocessor():
    with pytest.raises(TypeError, match='has no `data_preprocessor`'):
        to_channels_last(torch.nn.Conv2d(3, 3, 1))


def test_compile_submodules_keeps_names_and_results(tiny_segmentor_cfg):
    model = _model(tiny_segmentor_cfg)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        want = model(x, mode='tensor')
    names = list(model.state_dict())
    parts = compile_submodules(model, dict(backend='eager'))
    assert 'backbone' in parts and 'decode_head' in parts
    assert 'data_preprocessor' not in parts
    assert compile_submodules(model, dict(backend='eager')) == []  # once
    assert list(model.state_dict()) == names
    with torch.no_grad():
        got = model(x, mode='tensor')
        predicted = model.predict(x)
    assert torch.allclose(got, want, atol=1e-5)
    assert predicted[0].pred_sem_seg.data.shape == (1, 64, 64)
    # the weights still load (and change what the compiled parts compute)
    state = {k: torch.zeros_like(v) for k, v in model.state_dict().items()}
    model.load_state_dict(state)


def test_compile_submodules_options(tiny_segmentor_cfg):
    model = _model(tiny_segmentor_cfg)
    assert compile_submodules(model, False) == []
    with pytest.raises(TypeError, match='config key `compile`'):
        compile_submodules(model, 'max-autotune')


def test_unwrap_segmentor_and_hook_registry(tiny_segmentor_cfg):
    from mmengine.model import BaseTTAModel
    from mmseg.registry import HOOKS
    model = _model(tiny_segmentor_cfg)
    assert unwrap_segmentor(model) is model

    class Tta(BaseTTAModel):

        def merge_preds(self, data_samples_list):
            return data_samples_list

    assert unwrap_segmentor(Tta(module=model)) is model
    assert HOOKS.get('ChannelsLastHook') is ChannelsLastHook
