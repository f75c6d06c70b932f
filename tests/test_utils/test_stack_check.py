"""The stack check reports broken installs clearly."""
import importlib

import pytest

from mmsmoke.utils import stack_check


def test_current_stack_is_sound_and_runs_an_op():
    stack_check.check_stack(run_op=True)


def test_mmcv_too_new_is_reported(monkeypatch):
    import mmcv
    monkeypatch.setattr(mmcv, '__version__', '2.2.0')
    with pytest.raises(stack_check.StackError,
                       match=r'mmcv 2\.2\.0 .*mmcv < 2\.2\.0'):
        stack_check.check_stack()


@pytest.mark.parametrize(
    'module,error,message', [
        ('mmcv._ext', ModuleNotFoundError("No module named 'mmcv._ext'"),
         'no compiled ops.*MMCV_WITH_OPS=1'),
        ('torchvision',
         ImportError('libc10_cuda.so: cannot open shared object'),
         'torchvision is missing or does not load'),
    ],
    ids=['mmcv_without_ops', 'missing_torchvision'])
def test_failing_import_is_reported(monkeypatch, module, error, message):
    real_import = importlib.import_module

    def fake_import(name, *args, **kwargs):
        if name == module:
            raise error
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(stack_check.importlib, 'import_module', fake_import)
    with pytest.raises(stack_check.StackError, match=message):
        stack_check.check_stack()
