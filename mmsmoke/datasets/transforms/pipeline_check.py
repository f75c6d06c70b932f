"""Refuse loaders that would mislabel or drop smoke samples.

A smoke dataset runs its pipeline exactly as the config names it. Two
stock settings would corrupt an evaluation without an error, so a smoke
dataset refuses them when it is built:

* MMSeg's ``LoadAnnotations`` reads masks unchanged: a {0, 255} mask
  (SMOKE5K) would turn every smoke pixel into the ignore index 255. Name
  :class:`~mmsmoke.datasets.transforms.LoadSmokeAnnotations` instead. It
  also lets inference inputs without a mask pass, so MMSeg's
  ``MMSegInferencer`` and ``mmseg.apis.inference_model`` run the test
  pipelines that name it.
* ``LoadImageFromFile(ignore_empty=True)`` skips unreadable images
  silently; without it the stock loader raises an error naming the file.

The stock ``LoadImageFromFile`` is otherwise fine in a test pipeline (it is
the name ``MMSegInferencer`` looks for); the training pipelines name
:class:`~mmsmoke.datasets.transforms.LoadSmokeImageFromFile`, whose grey,
RGBA and 16-bit conversions are documented in docs/datasets.md.
"""
from typing import Any, Iterator, Sequence

#: Pipeline keys of a config that feed a dataset's ``pipeline``.
PIPELINE_KEYS = ('train_pipeline', 'test_pipeline', 'tta_pipeline',
                 '<split>_dataloader.dataset.pipeline')


def transform_type_name(transform_type: Any) -> str:
    """Registry name of a transform ``type`` given as a string or a class."""
    if isinstance(transform_type, str):
        return transform_type.split('.')[-1]
    return getattr(transform_type, '__name__', str(transform_type))


def _transforms(pipeline: Sequence[Any]) -> Iterator[dict]:
    """Every transform config of a pipeline, also inside wrappers
    (``TestTimeAug`` stages, ``RandomChoice``, ``RandomApply``)."""
    for cfg in pipeline:
        if isinstance(cfg, (list, tuple)):  # one TestTimeAug stage
            yield from _transforms(cfg)
        elif isinstance(cfg, dict):
            yield cfg
            if isinstance(cfg.get('transforms'), (list, tuple)):
                yield from _transforms(cfg['transforms'])


def check_pipeline_loaders(pipeline: Sequence[Any], owner: str) -> None:
    """Raise when a pipeline would mislabel masks or drop broken images.

    Args:
        pipeline (Sequence): Dataset pipeline (config dicts or callables;
            built transforms are not inspected).
        owner (str): Dataset name for the error message.

    Raises:
        ValueError: The pipeline names ``LoadAnnotations`` or
            ``LoadImageFromFile(ignore_empty=True)``; the message names the
            config keys to change.
    """
    keys = ' / '.join(PIPELINE_KEYS)
    for cfg in _transforms(pipeline):
        name = transform_type_name(cfg.get('type'))
        if name == 'LoadAnnotations':
            raise ValueError(
                f'{owner}: the pipeline names LoadAnnotations, which reads '
                'a {0, 255} smoke mask unchanged (every smoke pixel would '
                'become the ignore index 255); name LoadSmokeAnnotations '
                f'instead in the config ({keys})')
        if name == 'LoadImageFromFile' and cfg.get('ignore_empty'):
            raise ValueError(
                f'{owner}: LoadImageFromFile(ignore_empty=True) would skip '
                'unreadable images silently; drop ignore_empty in the '
                f'config ({keys})')
