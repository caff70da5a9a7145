"""PFA's library, one module per prefix (``array`` holds ``a.*``, ``model_tree`` holds
``model.tree.*``, ...). Importing this package registers every native function."""

import importlib
import pkgutil

from .registry import Namespace, Site, lookup, native, native_names, wants_atoms, writes_statements

__all__ = ["Namespace", "Site", "lookup", "native", "native_names", "wants_atoms", "writes_statements"]

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("registry", "types"):
        importlib.import_module(f"{__name__}.{_module.name}")
