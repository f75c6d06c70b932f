"""What the tests of tools/analysis_tools/benchmark.py share."""
import pytest


@pytest.fixture(scope='module')
def bench(load_tool):
    """tools/analysis_tools/benchmark.py, imported once per test module."""
    return load_tool('tools/analysis_tools/benchmark.py',
                     'mmsmoke_benchmark_tool')
