"""What ``smoke5k.py`` and ``smokeseg.py`` of this folder share.

The command line (``src``, ``--out``, ``--link``; errors reported on stderr
with exit status 1) and the extraction of the download into a temporary
folder next to ``--out``, in which the dataset's root is found.
"""
import argparse
import contextlib
import os
import os.path as osp
import sys
import tempfile
from typing import Callable, Iterator, Sequence


from mmsmoke.datasets.preparation import extract_archive
from mmsmoke.datasets.preparation import find_root


@contextlib.contextmanager
def extracted_root(src: str, out: str,
                   required: Sequence[str]) -> Iterator[str]:
    """The dataset root holding ``required`` in ``src`` (a zip, extracted
    into a temporary folder next to ``out``, or a folder)."""
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=osp.dirname(osp.abspath(out))) as tmp:
        top = extract_archive(src, tmp)
        yield find_root(top, list(required))


def main(description: str, dataset: str, default_out: str,
         prepare: Callable[[argparse.Namespace], None]) -> int:
    """Parse the command line and run ``prepare``; the exit status."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help=f'{dataset} zip or extracted folder')
    parser.add_argument('--out', default=default_out)
    parser.add_argument(
        '--link',
        action='store_true',
        help='symlink an extracted folder instead of copying')
    args = parser.parse_args()
    try:
        prepare(args)
    except (OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    return 0
