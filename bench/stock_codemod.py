"""A stock LibCST codemod with scope metadata: the hand-written tool awaitify is compared with (`make bench`).

Issue 7 quotes one such codemod at 105 s on a real 158-file, 17k-line backend. This one is what a team would
write first with LibCST's own machinery: run by `python -m libcst.tool codemod`, one module at a time, with
`ScopeProvider` and `QualifiedNameProvider` resolved for every module. It does a fraction of awaitify's work:
it awaits the I/O methods of a session (`db.commit()` -> `await db.commit()`), where the session is a parameter
annotated `sqlalchemy.orm.Session` or an attribute `__init__` stores one in (`self.db = db`), and makes the
function `async def`. No queries, no callers, no other file.

    PYTHONPATH=. python -m libcst.tool codemod -x bench.stock_codemod.AwaitSessionCalls --no-format PATH
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.metadata import Assignment, QualifiedNameProvider, ScopeProvider

SESSION_CLASSES = frozenset({"sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session"})
SESSION_IO = frozenset(
    {"commit", "rollback", "flush", "refresh", "delete", "merge", "execute", "scalar", "scalars", "get", "close"}
)


class AwaitSessionCalls(VisitorBasedCodemodCommand):
    DESCRIPTION = "Await the I/O methods of parameters annotated Session, and make their functions async."
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider)

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self._sessions: list[set[cst.Param]] = []  # the session parameters of each enclosing function
        self._awaited: list[bool] = []  # whether each enclosing function got an await
        self._session_attributes: list[set[str]] = []  # `self.<name>` holding a session, per enclosing class

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        attributes: set[str] = set()
        for statement in node.body.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == "__init__":
                params = {p.name.value for p in statement.params.params if self._is_session_annotation(p.annotation)}
                attributes |= _attributes_assigned_from(statement, params)
        self._session_attributes.append(attributes)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self._session_attributes.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = [*node.params.params, *node.params.kwonly_params, *node.params.posonly_params]
        self._sessions.append({param for param in params if self._is_session_annotation(param.annotation)})
        self._awaited.append(False)

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self._sessions.pop()
        if self._awaited.pop() and updated_node.asynchronous is None:
            return updated_node.with_changes(asynchronous=cst.Asynchronous())
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if not self._sessions or not isinstance(func, cst.Attribute) or func.attr.value not in SESSION_IO:
            return updated_node
        if not (self._names_a_session_parameter(func.value) or self._names_a_session_attribute(func.value)):
            return updated_node
        self._awaited[-1] = True
        return cst.Await(expression=updated_node)

    def _names_a_session_attribute(self, node: cst.BaseExpression) -> bool:
        return (
            bool(self._session_attributes)
            and isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value == "self"
            and node.attr.value in self._session_attributes[-1]
        )

    def _is_session_annotation(self, annotation: cst.Annotation | None) -> bool:
        if annotation is None:
            return False
        names = self.get_metadata(QualifiedNameProvider, annotation.annotation, set())
        return any(name.name in SESSION_CLASSES for name in names)

    def _names_a_session_parameter(self, name: cst.BaseExpression) -> bool:
        """The name is bound, in its scope, by one of the enclosing function's session parameters only."""
        if not isinstance(name, cst.Name):
            return False
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return False
        assignments = list(scope[name.value])
        return bool(assignments) and all(
            isinstance(assignment, Assignment) and assignment.node in self._sessions[-1] for assignment in assignments
        )


def _attributes_assigned_from(function: cst.FunctionDef, params: set[str]) -> set[str]:
    """`self.<attr> = <param>` statements at the top of `function`'s body: the attributes."""
    found: set[str] = set()
    if not isinstance(function.body, cst.IndentedBlock):
        return found
    for line in function.body.body:
        if not isinstance(line, cst.SimpleStatementLine):
            continue
        for small in line.body:
            if (
                isinstance(small, cst.Assign)
                and isinstance(small.value, cst.Name)
                and small.value.value in params
                and len(small.targets) == 1
                and isinstance(target := small.targets[0].target, cst.Attribute)
                and isinstance(target.value, cst.Name)
                and target.value.value == "self"
            ):
                found.add(target.attr.value)
    return found
