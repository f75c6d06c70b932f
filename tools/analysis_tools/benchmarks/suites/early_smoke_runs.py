"""The runs of the ``early_smoke`` suite: models, seeds and their configs.

Every model but the "before" one starts from its early-smoke config
(``configs/_base_/datasets/smoke5k_native.py``); the "before" run swaps in
the squashed 256x256 recipe of the ``smoke5k`` suite
(:func:`benchmarks.datasets.squash_recipe`).
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from mmsmoke.apis import offline_config
from ..core import repo_path
from ..datasets import squash_recipe
from ..training import apply_budget

#: Config of each model family.
CONFIGS = {
    'segformer':
    'configs/segformer/segformer_mit-b0_1xb4-4k_smoke5k-native-384x384.py',
    'fosp':
    'configs/fosp/fosp_mit-b0_1xb4-4k_smoke5k-native-384x384.py',
    'transbvm':
    'configs/transbvm/transbvm_mit-b0_1xb4-4k_smoke5k-native-384x384.py',
}
#: Models: key -> (label, family, variant).
MODELS: Dict[str, Tuple[str, str, Optional[str]]] = {
    'segformer_mit-b0': ('SegFormer MiT-B0', 'segformer', None),
    'fosp_mit-b0': ('FoSp MiT-B0', 'fosp', None),
    'fosp_mit-b0_no-focus': ('FoSp MiT-B0 without Focus', 'fosp', 'no_focus'),
    'fosp_mit-b0_no-sep': ('FoSp MiT-B0 without Separation', 'fosp', 'no_sep'),
    'transbvm_mit-b0': ('Trans-BVM MiT-B0', 'transbvm', None),
    'segformer_mit-b0_256':
    ('SegFormer MiT-B0, 256x256 recipe (before)', 'segformer', 'squash256'),
}
#: The pair run with every seed of ``--early-seeds``; the others use the
#: first seed only.
SEEDED_PAIR = ('segformer_mit-b0', 'fosp_mit-b0')


def run_name(key: str, overlay: bool, seed: int) -> str:
    """Name of a run (its work-dir name)."""
    name = key + ('+overlay' if overlay else '')
    return name + (f'@seed{seed}' if seed else '')


def run_label(key: str, overlay: bool, seed: int) -> str:
    """Human-readable name of a run."""
    label = MODELS[key][0]
    if overlay:
        label += ' + SyntheticSmokeOverlay'
    return label + f', seed {seed}'


def planned_runs(models: Sequence[str],
                 overlay: str,
                 seeds: Sequence[int],
                 known: Optional[Mapping] = None,
                 pair: Sequence[str] = SEEDED_PAIR
                 ) -> List[Tuple[str, bool, int]]:
    """The ``(model, overlay, seed)`` runs of a suite, in run order.

    Args:
        models (Sequence[str]): Keys of ``known``.
        overlay (str): 'off', 'on' or 'both'.
        seeds (Sequence[int]): Seeds; the models of ``pair`` run with each,
            the others with the first.
        known (Mapping, optional): The suite's models (default:
            :data:`MODELS`).
        pair (Sequence[str]): The models run with every seed (default:
            :data:`SEEDED_PAIR`).

    Returns:
        list[tuple[str, bool, int]]: The runs.
    """
    known = MODELS if known is None else known
    unknown = [m for m in models if m not in known]
    if unknown:
        raise ValueError(f'unknown models {unknown}; choose from '
                         f'{sorted(known)}')
    if overlay not in ('off', 'on', 'both'):
        raise ValueError(f"overlay must be 'off', 'on' or 'both', "
                         f'got {overlay!r}')
    if not seeds:
        raise ValueError('give at least one seed')
    flags = {'off': (False, ), 'on': (True, ), 'both': (False, True)}[overlay]
    runs = []
    for seed_i, seed in enumerate(seeds):
        for key in models:
            if seed_i and key not in pair:
                continue
            for flag in flags:
                runs.append((key, flag, int(seed)))
    return runs


def _squash256(cfg) -> None:
    """The earlier recipe: 256x256 squashed training and testing.

    The ``smoke5k`` suite's data at a 256x256 crop, with the
    ``SyntheticSmokeOverlay`` of the config (if kept) after the crop.
    """
    crop = (256, 256)
    cfg.model.data_preprocessor.size = crop
    cfg.model.test_cfg = dict(mode='whole')
    overlay = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t['type'] == 'SyntheticSmokeOverlay'
    ]
    recipe = squash_recipe(crop)
    train = recipe.train_dataloader.dataset.pipeline
    after_crop = [t['type'] for t in train].index('RandomCrop') + 1
    train[after_crop:after_crop] = overlay
    cfg.train_dataloader.dataset.pipeline = train
    cfg.test_dataloader.dataset.pipeline = \
        recipe.test_dataloader.dataset.pipeline
    cfg.tta_pipeline = recipe.tta_pipeline


def apply_variant(cfg, variant: Optional[str]) -> None:
    """Change a config into one of the ablations (None: unchanged).

    ``no_focus``: FoSp without the bidirectional cascade and the
    focus-weighted features; ``no_sep``: FoSp without Separation;
    ``no_trans`` / ``no_uce``: Trans-BVM without the transmission
    coherence loss / the uncertainty-calibrated entropy loss;
    ``squash256``: the earlier 256x256 recipe.
    """
    if variant is None:
        return
    losses = {
        'no_trans': 'TransmissionCoherenceLoss',
        'no_uce': 'UncertaintyCalibratedEntropyLoss'
    }
    if variant == 'no_focus':
        cfg.model.neck.update(cascade=False, weight_features=False)
    elif variant == 'no_sep':
        # the head then builds no foreground branch
        cfg.model.separation = None
    elif variant in losses:
        kept = [
            loss for loss in cfg.model.get('pixel_losses') or []
            if loss['type'] != losses[variant]
        ]
        if len(kept) == len(cfg.model.get('pixel_losses') or []):
            raise ValueError(f'variant {variant!r}: the config lists no '
                             f'{losses[variant]} in model.pixel_losses')
        cfg.model.pixel_losses = kept
    elif variant == 'squash256':
        _squash256(cfg)
    else:
        raise ValueError(f'unknown early_smoke variant {variant!r}')


def set_overlay(cfg, overlay: bool, prob: float) -> None:
    """Keep ``SyntheticSmokeOverlay`` at ``prob`` (``overlay``) or drop it
    from the train pipeline."""
    pipeline = cfg.train_dataloader.dataset.pipeline
    found = [t for t in pipeline if t['type'] == 'SyntheticSmokeOverlay']
    if not found:
        raise ValueError('the early_smoke configs must list '
                         'SyntheticSmokeOverlay in their train pipeline '
                         '(configs/_base_/datasets/smoke5k_native.py)')
    if overlay:
        for t in found:
            t['prob'] = prob
    else:
        cfg.train_dataloader.dataset.pipeline = [
            t for t in pipeline if t['type'] != 'SyntheticSmokeOverlay'
        ]


def build_config(key: str, overlay: bool, seed: int, args, data_root: str,
                 work_dir: str):
    """The training/test config of one run.

    Args:
        key (str): A key of :data:`MODELS`.
        overlay (bool): Train with ``SyntheticSmokeOverlay``.
        seed (int): Random seed of the run.
        args (argparse.Namespace): The budget (``iters``, ``train_batch``,
            ``lr``, ``workers``, ``max_test_images``, ``threshold``,
            ``save_interval``, ``overlay_prob``).
        data_root (str): The SMOKE5K folder ({train,test}/{img,gt}).
        work_dir (str): The run's work directory.

    Returns:
        Config: The config.
    """
    _, family, variant = MODELS[key]
    cfg = offline_config(repo_path(CONFIGS[family]))
    set_overlay(cfg, overlay, args.overlay_prob)
    apply_variant(cfg, variant)
    apply_budget(cfg, args, data_root)
    cfg.optim_wrapper.optimizer.lr = args.lr
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = work_dir
    return cfg
