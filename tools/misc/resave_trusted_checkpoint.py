"""Rewrite a TRUSTED plain-mmengine checkpoint for weights_only loading.

    python tools/misc/resave_trusted_checkpoint.py SRC DST --i-trust-this-file

Checkpoints written through mmsmoke's ``AtomicCheckpointHook`` load with
torch's ``weights_only=True``. One written by mmengine's ``CheckpointHook``
pickles a ``getattr`` reference that the safe loader refuses. This loads SRC with full unpickling,
which can run code stored in the file, so only do it for files you trust,
and writes DST in the safe form (see mmsmoke/utils/safe_loading.py).
"""
import argparse
import sys

from mmsmoke.utils.safe_loading import resave_trusted_checkpoint


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src')
    parser.add_argument('dst')
    parser.add_argument(
        '--i-trust-this-file',
        action='store_true',
        help='required: loading SRC can execute code stored in it')
    args = parser.parse_args()
    if not args.i_trust_this_file:
        print('refusing: pass --i-trust-this-file for a file from a source '
              'you trust', file=sys.stderr)
        return 2
    resave_trusted_checkpoint(args.src, args.dst)
    print(f'wrote {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
