"""Registration helper in the OpenMMLab style."""


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register MMSegmentation's and mmsmoke's modules.

    mmsmoke registers into MMSegmentation's registries, so the default scope
    stays ``'mmseg'``; this is MMSeg's ``register_all_modules`` plus the
    import of mmsmoke.

    Args:
        init_default_scope (bool): Make ``'mmseg'`` the default scope.
            Defaults to True.
    """
    from mmseg.utils import register_all_modules as mmseg_register

    import mmsmoke  # noqa: F401
    mmseg_register(init_default_scope=init_default_scope)
