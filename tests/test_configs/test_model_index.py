"""``model-index.yml`` and the per-method ``configs/*/metafile.yaml``.

The files follow MMSegmentation 1.x's model index (read by ``mim search``
and by mmengine when a config inherits ``mmsmoke::...``): every leaf config
is one model of exactly one metafile, named after its file, in a collection
of that file, and every path the files give exists.
"""
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
INDEX = REPO / 'model-index.yml'


def _load(path: Path):
    with open(path, encoding='utf-8') as f:
        return yaml.safe_load(f)


def _metafiles():
    index = _load(INDEX)
    assert isinstance(index, dict) and isinstance(index.get('Import'), list)
    return [REPO / p for p in index['Import']]


def _models():
    """(metafile, model dict) of every model of every imported metafile."""
    return [(meta, model) for meta in _metafiles()
            for model in _load(meta)['Models']]


def _leaf_configs():
    """Configs under configs/<folder>/, without _base_ and the short-name
    aliases directly in configs/."""
    configs = REPO / 'configs'
    return sorted(
        p.relative_to(REPO).as_posix() for p in configs.rglob('*.py')
        if '_base_' not in p.relative_to(configs).parts
        and p.parent != configs)


def test_index_imports_existing_metafiles_once():
    metas = _metafiles()
    assert metas, 'model-index.yml imports nothing'
    assert len(set(metas)) == len(metas)
    for meta in metas:
        assert meta.is_file(), meta
        assert meta.name == 'metafile.yaml'
        assert meta.parent.parent == REPO / 'configs'
        data = _load(meta)
        assert set(data) == {'Collections', 'Models'}, meta


def test_every_leaf_config_is_in_exactly_one_metafile():
    counts = Counter(model['Config'] for _, model in _models())
    listed_twice = sorted(c for c, n in counts.items() if n > 1)
    assert not listed_twice
    leaves = _leaf_configs()
    assert leaves
    assert sorted(counts) == leaves


def test_model_fields():
    names = Counter()
    for meta, model in _models():
        config = REPO / model['Config']
        assert config.is_file(), model['Config']
        # a metafile lists the configs of its own folder
        assert config.parent == meta.parent, model['Config']
        assert model['Name'] == config.stem
        names[model['Name']] += 1
        collections = {c['Name'] for c in _load(meta)['Collections']}
        assert model['In Collection'] in collections, model['Name']
        assert 'Weights' not in model  # no checkpoints are distributed
        metadata = model['Metadata']
        assert isinstance(metadata['Training Data'], str)
        assert isinstance(metadata['Batch Size'], int)
        assert metadata['Architecture'] and all(
            isinstance(a, str) for a in metadata['Architecture'])
        # `mim search` iterates the results of every model, so the key is
        # always there (an empty list where nothing was measured)
        results = model['Results']
        assert isinstance(results, list), model['Name']
        datasets = [r['Dataset'] for r in results]
        # mim keys a metric by "<dataset>/<metric>": no two alike
        assert len(set(datasets)) == len(datasets), model['Name']
        for result in results:
            assert set(result) == {'Task', 'Dataset', 'Metrics'}
            assert isinstance(result['Task'], str)
            assert isinstance(result['Dataset'], str)
            assert result['Metrics'] and isinstance(result['Metrics'], dict)
            for value in result['Metrics'].values():
                assert isinstance(value, (int, float, str))
        if results:
            assert metadata.get('Training Resources'), model['Name']
    assert not [n for n, k in names.items() if k > 1]


def test_collection_fields():
    names = Counter()
    for meta in _metafiles():
        for coll in _load(meta)['Collections']:
            names[coll['Name']] += 1
            readme = REPO / coll['README']
            assert readme.is_file(), coll['README']
            assert readme.parent == meta.parent
            assert coll['Paper']['Title'] and coll['Paper']['URL'].startswith(
                'https://')
            assert coll['License']
            assert isinstance(coll['Metadata']['Training Data'], list)
            assert coll['Code']['URL'] and coll['Code']['Version']
            if not coll['Code']['URL'].startswith('https://'):
                assert (REPO / coll['Code']['URL']).is_file()
            assert coll['Frameworks'] == ['PyTorch']
    assert not [n for n, k in names.items() if k > 1]


def test_readmes_link_every_config_of_their_folder():
    for meta in _metafiles():
        text = (meta.parent / 'README.md').read_text(encoding='utf-8')
        assert text.startswith('# ')
        assert '## Citation' in text and '```bibtex' in text
        for model in _load(meta)['Models']:
            assert model['Name'] in text, (meta.parent.name, model['Name'])


def test_model_index_loader():
    """The loader of ``mim search`` (the model-index package) reads the
    index without errors, with every model and collection."""
    load = pytest.importorskip('modelindex.load_model_index').load
    index = load(str(INDEX))
    # Like MMSegmentation's, the README paths are relative to the root of
    # the repository (where mim and mmengine read them), while the
    # package's check resolves them next to the metafile: those are the
    # only complaints allowed, and they must exist from the root.
    readme_error = re.compile(
        r'Path to README file (\S+) is not a valid file\.$')
    for error in index.check(silent=True):
        match = readme_error.search(error)
        assert match, error
        assert (REPO / match.group(1)).is_file(), error
    models = {m.name: m for m in index.models}
    assert sorted(models) == sorted(m['Name'] for _, m in _models())
    for model in models.values():
        assert model.results is not None  # mim iterates it
        for result in model.results:
            assert result.dataset and result.metrics


def test_mim_search_table():
    """``mim search``'s table is built from the index (needs openmim)."""
    pytest.importorskip('mim')
    from mim.commands.search import convert2df
    load = pytest.importorskip('modelindex.load_model_index').load
    table = convert2df(load(str(INDEX)))
    assert sorted(table.index) == sorted(m['Name'] for _, m in _models())


def test_configs_still_inherit_through_the_package(tmp_path):
    """mmengine reads the index for ``mmsmoke::`` paths: a leaf config of
    every metafile still resolves through the installed package."""
    from mmengine.config import Config
    from mmengine.utils import get_installed_path
    mim = Path(get_installed_path('mmsmoke')) / '.mim'
    if not (mim / 'model-index.yml').exists():
        pytest.skip('mmsmoke is not installed with its .mim folder')
    for meta in _metafiles():
        model = _load(meta)['Models'][0]
        rel = model['Config'].partition('/')[-1]
        user = tmp_path / f'user_{meta.parent.name}.py'
        user.write_text(f"_base_ = ['mmsmoke::{rel}']\n")
        cfg = Config.fromfile(str(user))
        own = Config.fromfile(str(REPO / model['Config']))
        assert cfg.model.type == own.model.type, rel
