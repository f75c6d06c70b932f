"""Early, explicit checks of the torch / mmcv / mmseg stack.

MMSegmentation 1.2.2 fails late and cryptically on a broken stack: mmcv-lite
or an mmcv built without torch raises ``No module named 'mmcv._ext'`` deep in
an import chain, mmcv >= 2.2 trips an assertion that asks for *mmcv>=2.0.0rc4*,
and a torchvision wheel that does not match torch fails inside mmpretrain.
:func:`check_stack` turns each of these into one clear message with the fix.

Run ``python tools/misc/check_stack.py`` to check an environment and run
one compiled op.
"""
import argparse
import importlib
import sys
from typing import List

from packaging.version import parse

MMCV_MIN = '2.0.0'
MMCV_MAX = '2.2.0'  # exclusive; mmseg 1.2.2 asserts mmcv < 2.2.0
FIX_MMCV = ('Rebuild it with the project bootstrap (bash tools/bootstrap.sh), '
            'or by hand: pip install "setuptools<81" wheel ninja psutil && '
            'MMCV_WITH_OPS=1 pip install --no-build-isolation --no-cache-dir '
            '--force-reinstall mmcv==2.1.0 (torch must be installed first).')


class StackError(ImportError):
    """Raised when the installed torch/mmcv/mmseg stack cannot work."""


def _problems(run_op: bool = False) -> List[str]:
    problems = []
    try:
        import torch
    except ImportError as err:  # pragma: no cover - nothing works then
        return [f'torch is not installed ({err}).']
    try:
        importlib.import_module('torchvision')
    except Exception as err:  # noqa: BLE001 - any failure is the message
        problems.append(
            f'torchvision is missing or does not load against torch '
            f'{torch.__version__} ({type(err).__name__}: {err}). mmpretrain '
            f'needs it; install the torchvision release that matches this '
            f'torch (see requirements/torch.txt).')
    try:
        import mmcv
    except ImportError as err:
        problems.append(f'mmcv is not installed ({err}). {FIX_MMCV}')
        return problems
    version = parse(mmcv.__version__)
    if not parse(MMCV_MIN) <= version < parse(MMCV_MAX):
        problems.append(
            f'mmcv {mmcv.__version__} is installed, but mmsegmentation 1.2.2 '
            f'needs {MMCV_MIN} <= mmcv < {MMCV_MAX}. {FIX_MMCV}')
        return problems
    try:
        importlib.import_module('mmcv._ext')
    except ImportError as err:
        problems.append(
            f'mmcv {mmcv.__version__} has no compiled ops ({err}): it is '
            f'mmcv-lite or was built without torch in its build environment. '
            f'mmsegmentation imports mmcv.ops at start-up. {FIX_MMCV}')
        return problems
    if run_op:
        try:
            from mmcv.ops import nms
            boxes = torch.tensor([[0., 0., 2., 2.], [0., 0., 2., 2.1]])
            _, keep = nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
            if keep.tolist() != [0]:
                problems.append(f'mmcv.ops.nms returned {keep.tolist()}, '
                                f'expected [0]. {FIX_MMCV}')
        except Exception as err:  # noqa: BLE001
            problems.append(f'running mmcv.ops.nms failed '
                            f'({type(err).__name__}: {err}). {FIX_MMCV}')
    return problems


def check_stack(run_op: bool = False) -> None:
    """Raise :class:`StackError` with every problem of the installed stack.

    Args:
        run_op (bool): Also run one compiled mmcv op (``nms``) on the CPU.
            Defaults to False.

    Raises:
        StackError: If torchvision is missing, mmcv is outside the range
            mmsegmentation accepts, or mmcv has no compiled ops.
    """
    problems = _problems(run_op=run_op)
    if problems:
        raise StackError('mmsmoke cannot run on this environment:\n  - ' +
                         '\n  - '.join(problems))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quiet', action='store_true')
    args = parser.parse_args()
    try:
        check_stack(run_op=True)
        import mmseg

        import mmsmoke  # noqa: F401  registers every module
    except Exception as err:  # noqa: BLE001
        print(err, file=sys.stderr)
        return 1
    if not args.quiet:
        import mmcv
        import mmengine
        import torch
        print(f'torch {torch.__version__}, mmcv {mmcv.__version__} (ops ok), '
              f'mmengine {mmengine.__version__}, mmseg {mmseg.__version__}, '
              f'mmsmoke {mmsmoke.__version__}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
