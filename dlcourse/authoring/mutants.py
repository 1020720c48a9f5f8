"""Single-change mutants of an exercise's solution (Python's ast): an arithmetic operator, a
comparison's boundary, a constant off by one, a dropped keyword argument, a deleted or swapped
statement, swapped arguments, a swapped function, a removed .clone()/.detach()/.item(), an in-place
update made out of place, continue/break, a negated condition. Only code between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` is mutated. dlcourse.authoring.mutation runs them."""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass




BINARY = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
          ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv, ast.MatMult: ast.Mult}


COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
           ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}


NAMES = {"sum": "mean", "mean": "sum", "min": "max", "max": "min", "argmin": "argmax", "argmax": "argmin",
         "amin": "amax", "amax": "amin", "zeros_like": "ones_like", "ones_like": "zeros_like", "zeros": "ones",
         "ones": "zeros", "var": "std", "std": "var", "cat": "stack", "stack": "cat", "le": "lt", "lt": "le",
         "ge": "gt", "gt": "ge", "floor": "ceil", "ceil": "floor", "cumsum": "cumprod", "rand": "randn",
         "relu": "sigmoid", "ReLU": "Sigmoid", "log_softmax": "softmax", "logsumexp": "amax", "clamp_min": "clamp_max",
         "clamp_max": "clamp_min", "unsqueeze": "squeeze", "item": "tolist"}


@dataclass
class Mutant:
    exercise: str
    key: str  # what changed, e.g. "compare: std == 0 -> std != 0"; unique within the exercise
    source: str
    hand_written: bool = False


def solution_lines(source: str) -> list[range]:
    """1-based line ranges between the BEGIN and END SOLUTION markers."""
    ranges, start = [], None
    for number, line in enumerate(source.splitlines(), 1):
        if "### BEGIN SOLUTION" in line:
            start = number + 1
        elif "### END SOLUTION" in line and start is not None:
            ranges.append(range(start, number))
            start = None
    return ranges


def _short(node: ast.AST) -> str:
    text = ast.unparse(node).splitlines()[0]
    return text if len(text) <= 70 else text[:67] + "..."


def _node_edits(node: ast.AST) -> list[tuple[str, ast.AST]]:
    """(description, replacement) pairs for one expression-level node."""
    edits = []
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in BINARY:
        new = copy.copy(node)
        new.op = BINARY[type(node.op)]()
        edits.append(("operator", new))
    if isinstance(node, ast.AugAssign):
        target = copy.copy(node.target)
        target.ctx = ast.Load()
        edits.append(("out of place", ast.Assign(targets=[node.target], value=ast.BinOp(target, node.op, node.value),
                                                 lineno=node.lineno)))
    if isinstance(node, ast.Compare):
        for position, op in enumerate(node.ops):
            if type(op) in COMPARE:
                new = copy.copy(node)
                new.ops = list(node.ops)
                new.ops[position] = COMPARE[type(op)]()
                edits.append(("compare", new))
    if isinstance(node, ast.BoolOp):
        edits.append(("boolean", ast.BoolOp(op=ast.Or() if isinstance(node.op, ast.And) else ast.And(),
                                            values=node.values)))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        edits.append(("drop unary", node.operand))
    if isinstance(node, ast.Constant) and not isinstance(node.value, str) and node.value is not None:
        if isinstance(node.value, bool):
            edits.append(("constant", ast.Constant(not node.value)))
        elif isinstance(node.value, int):
            edits += [("constant", ast.Constant(node.value + 1)), ("constant", ast.Constant(node.value - 1))]
        elif isinstance(node.value, float):
            edits.append(("constant", ast.Constant(node.value + 1.0)))
            if node.value != 0:
                edits += [("constant", ast.Constant(0.0)), ("constant", ast.Constant(node.value * 2))]
    if isinstance(node, ast.Call):
        positional = [a for a in node.args if not isinstance(a, ast.Starred)]
        if len(positional) >= 2 and ast.dump(positional[0]) != ast.dump(positional[1]):
            new = copy.copy(node)
            new.args = [node.args[1], node.args[0], *node.args[2:]]
            edits.append(("swap arguments", new))
        func = node.func
        if isinstance(func, ast.Attribute):
            if not node.args and not node.keywords:
                edits.append(("drop call", func.value))
            if func.attr.endswith("_") and not func.attr.endswith("__"):
                new = copy.copy(node)
                new.func = ast.Attribute(value=func.value, attr=func.attr[:-1], ctx=ast.Load())
                edits.append(("out of place", new))
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in NAMES:
            new = copy.copy(node)
            new.func = (ast.Attribute(value=func.value, attr=NAMES[name], ctx=ast.Load()) if isinstance(func, ast.Attribute)
                        else ast.Name(id=NAMES[name], ctx=ast.Load()))
            edits.append(("other function", new))
        for position, keyword in enumerate(node.keywords):
            if keyword.arg and isinstance(keyword.value, ast.Constant) and keyword.value.value is None:
                continue
            if keyword.arg:
                new = copy.copy(node)
                new.keywords = node.keywords[:position] + node.keywords[position + 1:]
                edits.append((f"drop keyword {keyword.arg}", new))
    if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 2:
        edits.append(("swap returned", ast.Return(value=ast.Tuple(elts=node.value.elts[::-1], ctx=ast.Load()))))
    if isinstance(node, (ast.If, ast.While)):
        new = copy.copy(node)
        new.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
        edits.append(("negate condition", new))
    if isinstance(node, ast.Continue):
        edits.append(("break for continue", ast.Break()))
    if isinstance(node, ast.Break):
        edits.append(("continue for break", ast.Continue()))
    return edits


def _replace_child(parent: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for name, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, name, new)
            return
        if isinstance(value, list):
            for position, item in enumerate(value):
                if item is old:
                    value[position] = new
                    return
    raise LookupError("child not found")


def mutants_of(exercise: str, source: str) -> list[Mutant]:
    """Every single-change mutant of the solution region of ``source`` (one code cell)."""
    tree = ast.parse(source)
    ranges = solution_lines(source)

    def inside(node) -> bool:
        return any(getattr(node, "lineno", -1) in r for r in ranges)

    original = ast.unparse(tree)
    nodes = list(ast.walk(tree))
    parents = parents_of(nodes)

    def where(node) -> str:
        """` in <statement>` for an expression, so that a key names its place in the cell."""
        statement = node
        while not isinstance(statement, ast.stmt) and id(statement) in parents:
            statement = parents[id(statement)]
        return "" if statement is node else f" in `{_short(statement)}`"
    plans = []  # (description, function of a fresh copy's node list that applies the change)
    for index, node in enumerate(nodes):
        for kind, replacement in _node_edits(node) if inside(node) else ():
            description = f"{kind}: {_short(node)} -> {_short(replacement)}{where(node)}"

            def apply(copied, index=index, replacement=replacement):
                # the replacement holds the original's children: a deep copy of it equals them
                target = copied[index]
                _replace_child(parents_of(copied)[id(target)], target, copy.deepcopy(replacement))
            plans.append((description, apply))
        if isinstance(node, ast.With) and inside(node):
            def unwrap(copied, index=index):
                target = copied[index]
                parent = parents_of(copied)[id(target)]
                body = _body_list(parent, target)
                position = body.index(target)
                body[position:position + 1] = target.body
            plans.append((f"drop context: {_short(node)}", unwrap))
        for name in ("body", "orelse"):
            body = getattr(node, name, None)
            if not isinstance(body, list) or not body or not isinstance(body[0], ast.stmt):
                continue
            for position, statement in enumerate(body):
                if not inside(statement) or _is_docstring(statement):
                    continue

                def delete(copied, index=index, name=name, position=position):
                    block = getattr(copied[index], name)
                    if len(block) == 1:
                        block[0] = ast.Pass()
                    else:
                        del block[position]
                plans.append((f"delete: {_short(statement)}", delete))
                if position + 1 < len(body) and inside(body[position + 1]):
                    def swap(copied, index=index, name=name, position=position):
                        block = getattr(copied[index], name)
                        block[position], block[position + 1] = block[position + 1], block[position]
                    plans.append((f"swap: {_short(statement)} <-> {_short(body[position + 1])}", swap))
    found, seen, counts = [], {original}, {}
    for description, apply in plans:
        copied = copy.deepcopy(tree)
        apply(list(ast.walk(copied)))
        ast.fix_missing_locations(copied)
        try:
            text = ast.unparse(copied)
            compile(text, "<mutant>", "exec")
        except (SyntaxError, ValueError, TypeError):
            continue  # e.g. `continue` outside a loop after a swap
        if text in seen:
            continue
        seen.add(text)
        counts[description] = counts.get(description, 0) + 1
        key = description if counts[description] == 1 else f"{description} #{counts[description]}"
        found.append(Mutant(exercise, key, text))
    return found


def parents_of(nodes: list[ast.AST]) -> dict[int, ast.AST]:
    return {id(child): parent for parent in nodes for child in ast.iter_child_nodes(parent)}


def _body_list(parent: ast.AST, child: ast.stmt) -> list:
    for _, value in ast.iter_fields(parent):
        if isinstance(value, list) and any(item is child for item in value):
            return value
    raise LookupError("statement not found")


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and isinstance(
        statement.value.value, str)
