"""The measure core is pure: ``metrics/`` reads no file and no environment and keeps no module-level state
that it changes; the catalogue is a value built by the services (``services.catalogue_source``) and
carried on the ``ServiceContext``, so an edited measure file reaches a new catalogue and the caches'
keys."""

from __future__ import annotations

import ast
import json
import pickle
import pkgutil
from pathlib import Path

import pytest

import carenet_desktop.metrics as metrics_package
from carenet_desktop.metrics import measures as measures_package
from carenet_desktop.metrics.catalogue import Catalogue
from carenet_desktop.services import catalogue_source
from carenet_desktop.services.definitions import definitions_digest
from tests.source_trees import parse_file

METRICS = Path(metrics_package.__file__).parent

#: calls that read or write files, list folders or read the environment
IO_FUNCTIONS = {"open", "input", "getenv", "putenv", "listdir", "scandir", "walk", "iter_modules", "walk_packages"}
IO_METHODS = {"read_text", "read_bytes", "write_text", "write_bytes", "open", "iterdir", "glob", "rglob", "exists",
              "is_file", "is_dir", "stat", "mkdir", "unlink", "rmdir", "touch"}
IO_MODULES = {"platformdirs", "sqlite3", "shutil", "tempfile", "carenet_desktop.resources", "resources"}
#: methods that change a dict, list or set in place
MUTATORS = {"append", "extend", "insert", "update", "setdefault", "pop", "popitem", "clear", "add", "discard",
            "remove", "sort", "reverse"}
MUTABLE_FACTORIES = {"dict", "list", "set", "defaultdict", "OrderedDict", "Counter", "deque"}


def _module_mutables(tree: ast.Module) -> set[str]:
    """Names bound at module level to a dict, list or set (a display or a factory call)."""
    names: set[str] = set()
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        mutable = isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)) or (
            isinstance(value, ast.Call) and _name(value.func) in MUTABLE_FACTORIES)
        if mutable:
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def impurities(root: Path) -> list[str]:
    """Every file read, environment read and module-level state change in the Python files under ``root``."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        tree = parse_file(path)
        where = path.relative_to(root.parent)
        mutables = _module_mutables(tree)
        for node in ast.walk(tree):
            line = f"{where}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name) and func.id in IO_FUNCTIONS:
                    found.append(f"{line}: calls {func.id}()")
                elif isinstance(func, ast.Attribute) and func.attr in IO_FUNCTIONS | IO_METHODS:
                    found.append(f"{line}: calls .{func.attr}()")
                elif isinstance(func, ast.Attribute) and func.attr in MUTATORS and _name(func.value) in mutables:
                    found.append(f"{line}: changes module-level {_name(func.value)} (.{func.attr})")
            elif isinstance(node, ast.Attribute) and node.attr in ("environ", "environb"):
                found.append(f"{line}: reads os.{node.attr}")
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                module = node.module if isinstance(node, ast.ImportFrom) else None
                names = [module or ""] + [a.name for a in node.names]
                if any(n in IO_MODULES or n.split(".")[0] in IO_MODULES for n in names if n):
                    found.append(f"{line}: imports {', '.join(n for n in names if n)}")
            elif isinstance(node, ast.Global):
                found.append(f"{line}: rebinds module-level {', '.join(node.names)} (global)")
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Subscript) and _name(target.value) in mutables:
                        found.append(f"{line}: changes module-level {_name(target.value)}[...]")
                    elif isinstance(node, ast.AugAssign) and _name(target) in mutables:
                        found.append(f"{line}: changes module-level {_name(target)} (+=)")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    called = decorator.func if isinstance(decorator, ast.Call) else decorator
                    if _name(called) in ("cache", "lru_cache", "cached_property"):
                        found.append(f"{line}: a cache kept by the module ({_name(called)} on {node.name})")
    return found


def test_metrics_reads_no_file_no_environment_and_changes_no_module_state() -> None:
    assert impurities(METRICS) == []


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    """Each kind of impurity the scan names is found in a module that has it (the scan is not blind)."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "impure.py").write_text(
        "import os\nimport platformdirs\nfrom functools import cache\n"
        "_REGISTRY: dict[str, int] = {}\n_SEEN = []\n_loaded = False\n\n"
        "def load(path):\n    global _loaded\n    _REGISTRY['a'] = 1\n    _SEEN.append(path)\n"
        "    text = open(path).read()\n    return os.environ.get('X'), path.read_bytes(), text\n\n"
        "@cache\ndef remembered():\n    return 1\n", encoding="utf-8")
    found = "\n".join(impurities(folder))
    for expected in ("imports platformdirs", "rebinds module-level _loaded", "changes module-level _REGISTRY[...]",
                     "changes module-level _SEEN (.append)", "calls open()", "reads os.environ",
                     "calls .read_bytes()", "a cache kept by the module (cache on remembered)"):
        assert expected in found, expected


def test_the_table_of_builtin_modules_lists_every_measure_module() -> None:
    files = {m.name for m in pkgutil.iter_modules(measures_package.__path__) if not m.name.startswith("_")}
    assert set(measures_package.MODULES) == files
    assert len(set(measures_package.MODULES)) == len(measures_package.MODULES)


def test_a_catalogue_is_an_immutable_value_that_crosses_to_a_worker_process() -> None:
    built = Catalogue.build()
    with pytest.raises(AttributeError):
        built.definitions = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        built._measures["CMS117"] = built.get("CMS2")  # type: ignore[index]
    shipped = catalogue_source.load_catalogue()
    copy = pickle.loads(pickle.dumps(shipped))
    assert copy.ids() == shipped.ids() and copy.digest() == shipped.digest()
    assert "VIS" in copy and "VIS" not in built


def _measure(min_age: int) -> dict[str, object]:
    return {"format": "carenet-measure/1", "id": "TPURE", "title": "Purity check", "version": f"t.{min_age}",
            "population": {"age": {"at": "period-end", "min_years": min_age, "max_years": 17}},
            "numerator": {"codes": ["cpt|99393"], "records": ["encounters"]}}


def test_an_edited_measure_file_reaches_a_new_context_catalogue_and_the_cache_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext

    monkeypatch.setenv("CARENET_MEASURES", str(tmp_path))
    path = tmp_path / "pure.json"
    path.write_text(json.dumps(_measure(3)), encoding="utf-8")
    db = open_database(tmp_path / "store.db")
    try:
        ctx = ServiceContext(db)
        first = ctx.catalogue
        assert first.get("TPURE").definition.population.min_age == 3  # type: ignore[attr-defined]
        key = definitions_digest(ctx.catalogue, ["TPURE"])
        path.write_text(json.dumps(_measure(5)), encoding="utf-8")
        assert ctx.catalogue is first  # a context computes with the catalogue it was given ...
        catalogue_source.reload(ctx)  # ... until the files are read again
        assert ctx.catalogue.get("TPURE").definition.population.min_age == 5  # type: ignore[attr-defined]
        assert first.get("TPURE").definition.population.min_age == 3  # type: ignore[attr-defined]
        assert definitions_digest(ctx.catalogue, ["TPURE"]) != key
        assert ServiceContext(db).catalogue.get("TPURE").version == "t.5"  # a new context reads the files
    finally:
        db.dispose()
