#!/usr/bin/env bash
# The test suite: idempotent environment set-up, then pytest.
#   bash tools/run_tests.sh [pytest options]
set -eo pipefail
cd "$(dirname "$0")/.."
source tools/bootstrap.sh
"${MMSMOKE_PYTHON}" -m pytest tests "$@"
