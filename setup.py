"""Installs mmsmoke, an MMSegmentation 1.x plugin for smoke segmentation.

``configs/`` and ``tools/`` are shipped inside the package under
``mmsmoke/.mim/`` (linked for editable installs, copied for wheels), the way
OpenMMLab packages do, so that ``mmsmoke::`` base configs resolve from an
installed copy.
"""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'mmsmoke', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(name: str) -> list:
    """Requirement lines of ``requirements/<name>.txt`` without comments."""
    lines = []
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                lines.append(line)
    return lines


def add_mim_extension() -> None:
    """Place ``configs/``, ``tools/`` and ``model-index.yml`` in ``.mim``.

    Editable installs get symbolic links (edits show up at once); building a
    wheel or sdist gets real copies.
    """
    if 'develop' in sys.argv or any('editable' in a for a in sys.argv):
        mode = 'symlink'
    elif any(a in sys.argv for a in ('sdist', 'bdist_wheel', 'build', 'build_py',
                                     'install')):
        mode = 'copy'
    else:
        return
    mim_dir = osp.join(HERE, 'mmsmoke', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(HERE, name)
        dst = osp.join(mim_dir, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_dir), dst,
                       target_is_directory=osp.isdir(src))
        elif osp.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmsmoke',
        version=read_version(),
        description='Smoke segmentation for MMSegmentation 1.x: FoSp and '
        'Transmission-BVM',
        long_description=open(osp.join(HERE, 'README.md')).read(),
        long_description_content_type='text/markdown',
        license='Apache License 2.0',
        python_requires='>=3.10,<3.13',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
        include_package_data=True,
        package_data={
            'mmsmoke':
            ['.mim/configs/**/*', '.mim/tools/**/*', '.mim/model-index.yml']
        },
        install_requires=read_requirements('runtime') +
        read_requirements('torch') + read_requirements('mmcv'),
        extras_require={
            'tests': read_requirements('tests'),
            'optional': read_requirements('optional'),
        },
        zip_safe=False,
        classifiers=[
            'Programming Language :: Python :: 3',
            'Topic :: Scientific/Engineering :: Image Recognition',
        ])
