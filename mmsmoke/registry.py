"""Scope ``mmsmoke`` registries: lookup aliases of MMSegmentation's.

Every mmsmoke module is registered directly into ``mmseg.registry`` (so stock
MMSeg configs with ``default_scope='mmseg'`` find it). This module exists for
one reason: a config that inherits ``mmsmoke::_base_/...`` gets
``_scope_='mmsmoke'`` on the inherited dicts, and mmengine then looks for
registries of that scope (importing ``mmsmoke.registry``). Each registry here
is an empty child of the MMSeg registry of the same name, so a lookup in
scope ``mmsmoke`` falls through to MMSeg (and from there to mmengine) and
finds exactly what the ``mmseg`` scope finds. Nothing registers into them.
"""
from mmengine.registry import Registry
from mmseg import registry as _mmseg

__all__ = list(_mmseg.__all__)

for _name in __all__:
    _parent = getattr(_mmseg, _name)
    globals()[_name] = Registry(
        _parent.name, parent=_parent, scope='mmsmoke', locations=['mmsmoke'])
