#!/usr/bin/env bash
# Idempotent set-up of the mmsmoke stack on a CPU or GPU Linux machine that
# reaches the Python package registry.
#
#   source tools/bootstrap.sh     # or: bash tools/bootstrap.sh
#
# 1. Uses the active virtualenv, or creates/uses `.venv` in the repository.
# 2. Installs torch + torchvision, then builds mmcv 2.1.0 from its source
#    package WITH its compiled ops against that torch, and checks it by running
#    an op. Built wheels are cached per torch version and Python version in
#    ${MMSMOKE_WHEEL_CACHE:-~/.cache/mmsmoke/wheels}, so a torch change builds
#    a new mmcv instead of reusing a stale one.
# 3. Installs mmengine, mmsegmentation, mmpretrain, the test and optional
#    requirements, and mmsmoke in editable mode.
# A fingerprint of the requirement files is kept in the environment; when it
# and the mmcv/torch pairing are unchanged, nothing is reinstalled.
# After sourcing, MMSMOKE_PYTHON names the environment's interpreter.

_mmsmoke_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "${VIRTUAL_ENV}/bin/python" ]; then
    MMSMOKE_PYTHON="${VIRTUAL_ENV}/bin/python"
else
    MMSMOKE_PYTHON="${_mmsmoke_root}/.venv/bin/python"
fi
export MMSMOKE_PYTHON

# Runs in a subshell so that `set -e` does not leak into a sourcing shell.
_mmsmoke_bootstrap() (
    set -eo pipefail
    local root="${_mmsmoke_root}"
    local py="${MMSMOKE_PYTHON}"
    if [ -n "${VIRTUAL_ENV:-}" ] && [ "${py}" = "${VIRTUAL_ENV}/bin/python" ]; then
        echo "[bootstrap] using the active virtualenv ${VIRTUAL_ENV}"
    elif [ ! -x "${py}" ]; then
        echo "[bootstrap] creating ${root}/.venv"
        "${PYTHON:-python3}" -m venv "${root}/.venv"
    fi
    "${py}" - <<'PYEOF'
import sys
if sys.version_info < (3, 10) or sys.version_info >= (3, 13):
    sys.exit('[bootstrap] mmsmoke needs Python 3.10-3.12 (torch 2.15), found %s'
             % sys.version.split()[0])
PYEOF
    local env_dir
    env_dir=$("${py}" -c 'import sys; print(sys.prefix)')
    local pip=("${py}" -m pip --disable-pip-version-check)
    local stamp="${env_dir}/.mmsmoke-stack-ok"
    local fingerprint
    fingerprint=$(cat "${root}"/requirements/*.txt "${root}/setup.py" \
        "${root}/tools/bootstrap.sh" | sha256sum | cut -d' ' -f1)

    local torch_tag=''
    torch_tag=$("${py}" -c 'import sys, torch; print("torch%s-py%d%d" % (torch.__version__, *sys.version_info[:2]))' 2>/dev/null || true)

    if [ -f "${stamp}" ] && [ "$(cat "${stamp}")" = "${fingerprint}" ] \
        && [ -n "${torch_tag}" ] \
        && [ "$(cat "${env_dir}/.mmcv-built-against" 2>/dev/null)" = "${torch_tag}" ] \
        && "${py}" "${root}/tools/misc/check_stack.py" --quiet; then
        echo "[bootstrap] environment up to date (${torch_tag})"
        return 0
    fi

    echo "[bootstrap] installing torch and torchvision"
    "${pip[@]}" install -r "${root}/requirements/torch.txt"
    "${pip[@]}" install -r "${root}/requirements/build.txt"
    torch_tag=$("${py}" -c 'import sys, torch; print("torch%s-py%d%d" % (torch.__version__, *sys.version_info[:2]))')

    echo "[bootstrap] installing mmengine, mmsegmentation, mmpretrain and test requirements"
    "${pip[@]}" install -r "${root}/requirements/runtime.txt" \
        -r "${root}/requirements/tests.txt" \
        -r "${root}/requirements/optional.txt"

    local mmcv_spec
    mmcv_spec=$(grep -v '^#' "${root}/requirements/mmcv.txt" | grep -m1 mmcv)
    local op_check='import torch; from mmcv.ops import nms; b = torch.tensor([[0., 0., 2., 2.], [0., 0., 2., 2.1]]); d, k = nms(b, torch.tensor([0.9, 0.8]), 0.5); assert k.tolist() == [0], k'
    if [ "$(cat "${env_dir}/.mmcv-built-against" 2>/dev/null)" = "${torch_tag}" ] \
        && "${py}" -c "${op_check}" 2>/dev/null; then
        echo "[bootstrap] mmcv with ops already built against ${torch_tag}"
    else
        local cache="${MMSMOKE_WHEEL_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/mmsmoke/wheels}/${torch_tag}"
        mkdir -p "${cache}"
        if ! ls "${cache}"/mmcv-*.whl >/dev/null 2>&1; then
            echo "[bootstrap] building ${mmcv_spec} with ops against ${torch_tag} (about 13 minutes on 2 cores)"
            local src
            src=$(mktemp -d)
            "${pip[@]}" download --no-deps --no-binary :all: --no-build-isolation \
                -d "${src}" "${mmcv_spec}"
            tar xzf "${src}"/mmcv-*.tar.gz -C "${src}"
            local tree
            tree=$(ls -d "${src}"/mmcv-*/)
            # mmcv 2.1.0's setup.py compiles with -std=c++17; the headers of
            # torch >= 2.13 need C++20 ("C++20 or later compatible compiler
            # is required to use ATen"), so the standard is raised when the
            # installed torch says so.
            local aten
            aten=$("${py}" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "include", "ATen", "ATen.h"))')
            if grep -q 'C++20 or later' "${aten}" 2>/dev/null; then
                echo "[bootstrap] torch needs C++20: building mmcv with -std=c++20"
                sed -i "s/-std=c++1[47]/-std=c++20/g" "${tree}/setup.py"
            fi
            (cd "${tree}" && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
                "${pip[@]}" wheel --no-deps --no-build-isolation --no-cache-dir \
                -w "${cache}" .)
            rm -rf "${src}"
        else
            echo "[bootstrap] reusing the mmcv wheel cached for ${torch_tag}"
        fi
        "${pip[@]}" install --no-deps --force-reinstall "${cache}"/mmcv-*.whl
        "${py}" -c "${op_check}"
        echo "${torch_tag}" > "${env_dir}/.mmcv-built-against"
        echo "[bootstrap] mmcv ops run (nms on CPU)"
    fi

    "${pip[@]}" install --no-deps --no-build-isolation -e "${root}"
    "${py}" "${root}/tools/misc/check_stack.py"
    echo "${fingerprint}" > "${stamp}"
    echo "[bootstrap] done (${torch_tag})"
)

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    _mmsmoke_bootstrap
else
    _mmsmoke_bootstrap || return 1
fi
