"""Run MMCV/MMSeg's stock loaders of a smoke dataset as validating ones.

MMSeg's own tools look for the stock names: ``MMSegInferencer`` refuses a
config whose test pipeline has no ``LoadImageFromFile``, and
``mmseg.apis.inference_model`` drops only a transform named
``LoadAnnotations``. A smoke dataset, on the other hand, must not load its
masks with the stock ``LoadAnnotations``: a {0, 255} mask would turn every
smoke pixel into the ignore index 255. :func:`strict_loader_pipeline` lets a
pipeline keep the stock names while the dataset runs
:class:`LoadSmokeImageFromFile` and :class:`LoadSmokeAnnotations` in their
place, with the stock arguments translated (or refused with a clear error
where there is no equivalent).
"""
from typing import Any, List, Sequence, Tuple

#: Stock loader name -> validating loader that replaces it in smoke datasets.
STRICT_LOADERS = {
    'LoadImageFromFile': 'LoadSmokeImageFromFile',
    'LoadAnnotations': 'LoadSmokeAnnotations',
}

# What becomes of each stock loader's arguments: ``keep`` ones are passed on
# unchanged; ``accept`` ones are dropped when their value is one of those
# listed (they describe what the validating loader does anyway); anything
# else is refused.
_ARGUMENTS = {
    'LoadImageFromFile':
    dict(
        keep=('to_float32', 'backend_args'),
        accept={
            # decoded with OpenCV, no EXIF rotation
            'color_type': ('color', 'color_ignore_orientation'),
            'imdecode_backend': ('cv2', ),
            'ignore_empty': (False, ),
            'file_client_args': (None, ),
        }),
    'LoadAnnotations':
    dict(
        keep=('backend_args', ),
        accept={
            'reduce_zero_label': (None, False),
            # masks are decoded with Pillow (palette indices kept)
            'imdecode_backend': ('pillow', 'cv2'),
        }),
}


def _type_name(transform_type: Any) -> str:
    """Registry name of a transform ``type`` given as a string or a class."""
    if isinstance(transform_type, str):
        return transform_type.split('.')[-1]
    return getattr(transform_type, '__name__', str(transform_type))


def _translate(cfg: dict, owner: str) -> dict:
    old = _type_name(cfg['type'])
    new_type = STRICT_LOADERS[old]
    keep, accept = _ARGUMENTS[old]['keep'], _ARGUMENTS[old]['accept']
    out = dict(type=new_type)
    for key, value in cfg.items():
        if key == 'type':
            continue
        if key in keep:
            out[key] = value
        elif key in accept and value in accept[key]:
            continue
        else:
            allowed = (f'one of {list(accept[key])}'
                       if key in accept else 'not supported')
            raise ValueError(
                f'{owner}: {old}({key}={value!r}) has no equivalent in '
                f'{new_type} (allowed: {allowed}); use {new_type} directly '
                f'or build the dataset with strict_loading=False')
    return out


def strict_loader_pipeline(pipeline: Sequence[Any],
                           owner: str) -> Tuple[List[Any], List[str]]:
    """Replace stock image/mask loaders by mmsmoke's validating loaders.

    Transforms given as config dicts with ``type`` ``LoadImageFromFile`` or
    ``LoadAnnotations`` (also as ``mmcv.``/``mmseg.`` scoped names or as the
    classes themselves) become :class:`LoadSmokeImageFromFile` and
    :class:`LoadSmokeAnnotations`, also inside the ``transforms`` of
    wrappers such as ``TestTimeAug`` (the ``tta_pipeline`` of
    ``tools/test.py --tta``). Other entries, including already-built
    transform objects, are kept as they are.

    Args:
        pipeline (Sequence): Dataset pipeline (config dicts or callables).
        owner (str): Dataset name for error messages.

    Returns:
        tuple[list, list[str]]: The new pipeline and the names replaced.

    Raises:
        ValueError: A stock loader argument has no validating equivalent
            (for example ``reduce_zero_label=True`` or ``ignore_empty=True``,
            which would drop broken images silently).
    """
    replaced: List[str] = []
    return _replace_loaders(pipeline, owner, replaced), replaced


def _replace_loaders(pipeline: Sequence[Any], owner: str,
                     replaced: List[str]) -> List[Any]:
    """:func:`strict_loader_pipeline` of one (possibly nested) list."""
    out = []
    for cfg in pipeline:
        if isinstance(cfg, (list, tuple)):  # e.g. one TestTimeAug stage
            out.append(_replace_loaders(cfg, owner, replaced))
            continue
        name = _type_name(cfg.get('type')) if isinstance(cfg, dict) else None
        if name in STRICT_LOADERS:
            cfg = _translate(cfg, owner)
            replaced.append(name)
        elif isinstance(cfg, dict) and isinstance(
                cfg.get('transforms'), (list, tuple)):
            # wrappers: TestTimeAug, RandomChoice, RandomApply, Compose
            cfg = dict(
                cfg,
                transforms=_replace_loaders(cfg['transforms'], owner,
                                            replaced))
        out.append(cfg)
    return out
