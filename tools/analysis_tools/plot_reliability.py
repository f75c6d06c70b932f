"""Plot reliability diagrams from SmokeMetric's calibration bins.

``SmokeMetric`` with ``output_dir`` (``tools/test.py --out DIR``) writes
``DIR/reliability_bins.json``::

    {"n_bins": 15, "note": "...",
     "positive_class": {"bin_lower": [...], "bin_upper": [...],
                        "count": [...], "confidence": [...],
                        "accuracy": [...], "gap": [...],
                        "ece": ..., "mce": ..., "num_samples": ...},
     "top_label": {...}}

with ``n_bins + 1`` slots per diagram; the last slot holds the confidences
exactly equal to 1.0 (as in torchmetrics) and is drawn as a point at 1.
A metrics JSON holding a ``reliability_bins`` entry is accepted too.

Each diagram shows, per bin, the observed frequency (bars: fraction of
smoke pixels for the positive-class diagram, accuracy for the top-label
one), the gap to the bin's mean confidence (red), the diagonal of perfect
calibration, and below it the number of pixels per bin (log scale).

Example::

    python tools/test.py CONFIG CKPT --out work_dirs/pred
    python tools/analysis_tools/plot_reliability.py \\
        work_dirs/pred/reliability_bins.json --out reliability.png
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

#: Diagram kinds in reliability_bins.json and their axis labels.
KINDS = {
    'positive_class':
    ('mean predicted smoke probability', 'fraction of smoke pixels'),
    'top_label': ('confidence of the predicted label', 'accuracy'),
}
_SLOT_KEYS = ('bin_lower', 'bin_upper', 'count', 'confidence', 'accuracy')


def load_bins(path: str) -> Dict:
    """Read and check a ``reliability_bins.json`` (or a metrics JSON).

    Args:
        path (str): File written by SmokeMetric.

    Returns:
        dict: The bins, with at least one of :data:`KINDS`.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: file not found')
    try:
        with open(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f'{path}: not valid JSON ({err})') from None
    if isinstance(data, dict) and 'reliability_bins' in data:
        data = data['reliability_bins']
    if not isinstance(data, dict) or not any(k in data for k in KINDS):
        raise ValueError(f'{path}: no reliability bins (expected the keys '
                         f'{sorted(KINDS)} of SmokeMetric\'s '
                         'reliability_bins.json)')
    for kind in KINDS:
        if kind not in data:
            continue
        diagram = data[kind]
        missing = [k for k in _SLOT_KEYS if k not in diagram]
        if missing:
            raise ValueError(f'{path}: {kind} lacks {missing}')
        lengths = {len(diagram[k]) for k in _SLOT_KEYS}
        if len(lengths) != 1 or lengths.pop() < 2:
            raise ValueError(f'{path}: {kind} lists have different or too '
                             'few entries')
    return data


def _finite(values: Sequence[Optional[float]]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values])


def draw_diagram(ax_main, ax_count, diagram: Dict, kind: str) -> None:
    """Draw one reliability diagram and its count histogram.

    Args:
        ax_main: Matplotlib axes for the diagram.
        ax_count: Axes for the per-bin counts (below it).
        diagram (dict): One entry of ``reliability_bins.json``.
        kind (str): One of :data:`KINDS`.
    """
    lower = np.asarray(diagram['bin_lower'], dtype=float)
    upper = np.asarray(diagram['bin_upper'], dtype=float)
    count = np.asarray(diagram['count'], dtype=float)
    conf = _finite(diagram['confidence'])
    acc = _finite(diagram['accuracy'])
    width = upper - lower
    regular = width > 0  # the last slot is the point p == 1.0
    filled = regular & (count > 0)
    centers = (lower + upper) / 2
    ax_main.plot([0, 1], [0, 1],
                 '--',
                 color='grey',
                 lw=1,
                 label='perfect calibration')
    ax_main.bar(
        centers[filled],
        acc[filled],
        width=width[filled],
        color='#4477aa',
        edgecolor='black',
        lw=0.5,
        label='observed')
    gap_bottom = np.minimum(acc, conf)
    ax_main.bar(
        centers[filled],
        np.abs(acc - conf)[filled],
        bottom=gap_bottom[filled],
        width=width[filled],
        color='#ee6677',
        alpha=0.6,
        edgecolor='#cc3344',
        lw=0.5,
        hatch='//',
        label='gap to confidence')
    point = (~regular) & (count > 0)
    if point.any():
        ax_main.scatter(
            conf[point],
            acc[point],
            marker='D',
            color='#228833',
            zorder=3,
            label='p = 1.0 exactly')
    xlabel, ylabel = KINDS[kind]
    ece, mce = diagram.get('ece'), diagram.get('mce')
    title = kind.replace('_', ' ')
    if ece is not None and mce is not None:
        title += f': ECE {100 * ece:.2f}%, MCE {100 * mce:.2f}%'
    ax_main.set_title(title, fontsize=10)
    ax_main.set_ylabel(ylabel)
    ax_main.set_xlim(0, 1.02)
    ax_main.set_ylim(0, 1)
    ax_main.legend(loc='upper left', fontsize=8)
    ax_count.bar(
        centers[regular],
        count[regular],
        width=width[regular],
        color='#bbbbbb',
        edgecolor='black',
        lw=0.5)
    if point.any():
        ax_count.bar([1.0], count[point], width=0.01, color='#228833')
    if (count > 0).any():
        ax_count.set_yscale('log')
    ax_count.set_xlim(0, 1.02)
    ax_count.set_xlabel(xlabel)
    ax_count.set_ylabel('pixels')


def plot_reliability(bins: Dict,
                     out_file: str,
                     kinds: Optional[Sequence[str]] = None,
                     title: Optional[str] = None,
                     dpi: int = 120) -> List[str]:
    """Draw the reliability diagrams of ``bins`` into one PNG.

    Args:
        bins (dict): Output of :func:`load_bins`.
        out_file (str): PNG file to write.
        kinds (Sequence[str], optional): Diagrams to draw; None draws every
            one present.
        title (str, optional): Figure title.
        dpi (int): Resolution. Defaults to 120.

    Returns:
        list[str]: The diagrams drawn.
    """
    kinds = [k for k in (kinds or KINDS) if k in bins]
    if not kinds:
        raise ValueError(f'none of the requested diagrams is in the bins '
                         f'(available: {[k for k in KINDS if k in bins]})')
    fig, axes = plt.subplots(
        2,
        len(kinds),
        figsize=(4.8 * len(kinds), 5.6),
        gridspec_kw=dict(height_ratios=[3, 1]),
        squeeze=False)
    for i, kind in enumerate(kinds):
        draw_diagram(axes[0, i], axes[1, i], bins[kind], kind)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=dpi)
    plt.close(fig)
    return kinds


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Reliability diagram from SmokeMetric bins')
    parser.add_argument('bins', help='reliability_bins.json')
    parser.add_argument(
        '--out',
        default=None,
        help='PNG file (default: next to the bins, reliability.png)')
    parser.add_argument(
        '--kinds',
        nargs='+',
        choices=sorted(KINDS),
        default=None,
        help='diagrams to draw (default: all present)')
    parser.add_argument('--title', default=None, help='figure title')
    parser.add_argument('--dpi', type=int, default=120, help='resolution')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    bins = load_bins(args.bins)
    out = args.out or osp.join(
        osp.dirname(osp.abspath(args.bins)), 'reliability.png')
    kinds = plot_reliability(bins, out, args.kinds, args.title, args.dpi)
    print(f'{", ".join(kinds)} reliability diagram(s) written to {out}')
    return out


if __name__ == '__main__':
    main()
