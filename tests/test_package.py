"""The tooling package's imports flow one way: utils -> dlcourse.notebooks -> authoring -> grading
-> bench (each layer may import only the layers before it), with no cycle."""

import ast
from pathlib import Path

from dlcourse.notebooks import ROOT

LAYERS = ["utils", "dlcourse.notebooks", "dlcourse.authoring", "dlcourse.grading", "dlcourse.bench", "dlcourse.cli"]


def layer(module: str) -> int:
    return max(i for i, name in enumerate(LAYERS) if module == name or module.startswith(name + ".")
               or (name == "dlcourse.notebooks" and module == "dlcourse"))


def imports() -> dict[str, set[str]]:
    found = {}
    for folder in ("utils", "dlcourse"):
        for path in (ROOT / folder).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            targets = set()
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
                targets |= {n for n in names if n.split(".")[0] in ("utils", "dlcourse")}
            found[module] = targets
    return found


def test_each_layer_imports_only_the_layers_before_it():
    backwards = [f"{module} imports {target}" for module, targets in imports().items() for target in targets
                 if layer(target) > layer(module)]
    assert not backwards, backwards


def test_no_import_cycle_between_modules():
    graph = imports()
    modules = set(graph)

    def resolve(target):  # `from dlcourse.bench import timing` names the package; count the package
        return target if target in modules else ".".join(target.split(".")[:-1])

    state: dict[str, int] = {}

    def visit(module, path):
        state[module] = 1
        for target in map(resolve, graph.get(module, ())):
            if target == module or target not in modules:
                continue
            assert state.get(target) != 1, " -> ".join(path + [target])
            if target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module, [module])


def test_the_kernel_guard_imports_nothing_of_the_course():
    """It runs inside the student's kernel, where dlcourse is not readable."""
    assert not imports()["dlcourse.grading.kernel_guard"]
    assert Path(ROOT / "dlcourse" / "grading" / "kernel_guard.py").is_file()
