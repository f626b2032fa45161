"""Importing plugin folders, again whenever their code changes, each version as its own package.

A folder plugin (``providers/<name>/`` or a folder under ``plugins.dirs``) is imported as a
package named after its path and a version number (``ccrelay_plugin_<path>_v<n>``). A new
version of the code is imported under a new name, so the old version's modules and classes
stay intact for requests already running on them, and the two never share a module.

Plugin code is always compiled from its source, never from a cached ``.pyc``: the bytecode
cache trusts a file's mtime (in whole seconds) and size, so an edit made within the second
that keeps the size would otherwise bring back the old code.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, ModuleType

_PREFIX = "ccrelay_plugin_"
_finder_lock = threading.Lock()
_versions: dict[str, int] = {}


@dataclass(frozen=True)
class FolderVersion:
    """One imported version of a plugin folder.

    :param fingerprint: digest of every file under the folder when it was imported.
    :param module: the package module.
    """

    folder: Path
    fingerprint: str
    module: ModuleType

    def forget(self) -> None:
        """Drop this version's modules from ``sys.modules`` (objects still referenced, such
        as strategies serving a request, keep working)."""
        name = self.module.__name__
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]


def fingerprint(folder: Path) -> str:
    """A digest of the folder's files (names and contents, ``__pycache__`` left out)."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo") or not path.is_file():
            continue
        h.update(str(rel).encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"\1unreadable")
        h.update(b"\0")
    return h.hexdigest()


def import_folder(folder: Path, digest: str | None = None) -> FolderVersion:
    """Import ``folder/__init__.py`` as a new package version.

    :param digest: the folder's ``fingerprint`` if the caller already computed it.
    :raises Exception: whatever importing the plugin raised (it is not half-registered:
        its modules are removed again).
    """
    _install_finder()
    digest = digest or fingerprint(folder)
    stem = "".join(c if c.isalnum() else "_" for c in str(folder.resolve()))
    base = _PREFIX + stem
    with _finder_lock:
        _versions[base] = version = _versions.get(base, 0) + 1
    modname = f"{base}_v{version}"
    init = folder / "__init__.py"
    loader = _SourceOnlyLoader(modname, str(init))
    spec = importlib.util.spec_from_file_location(
        modname, init, loader=loader, submodule_search_locations=[str(folder)]
    )
    if spec is None:
        raise ImportError(f"cannot import {folder}")
    # A file added since the last import must be found even if the directory's mtime did
    # not change in a way the path finder's cache notices.
    importlib.invalidate_caches()
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    result = FolderVersion(folder, digest, module)
    try:
        loader.exec_module(module)
    except BaseException:
        result.forget()
        raise
    return result


class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles from the source every time; neither reads nor writes bytecode caches."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)


class _PluginFinder(importlib.abc.MetaPathFinder):
    """Finds the submodules of plugin packages and loads them from source."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(_PREFIX) or path is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            spec.loader = _SourceOnlyLoader(fullname, spec.loader.path)
        return spec


_finder = _PluginFinder()


def _install_finder() -> None:
    with _finder_lock:
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
