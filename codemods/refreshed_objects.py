"""Objects built in a function, committed, then `refresh()`ed whole: their lazy relationships are unloaded again.

`db.refresh(obj)` with no attribute names expires every attribute and reloads the columns; a lazy relationship
stays unloaded, even one assigned before the commit (an object built here has no loader options of a query for
the refresh to apply again). A sync `Session` loads it when something reads it; an `AsyncSession` raises
MissingGreenlet. `RefreshedObjects` finds such objects, one (`user = User(...)`, `db.refresh(user)`) or a
collection of them refreshed in a loop (`users = [User(...) ...]`, `for u in users: db.refresh(u)`), so that a
pydantic model validating them (`UserOut.model_validate(u)` in a loop or a comprehension over the collection,
`map(UserOut.model_validate, users)`, a route's response model) is flagged AWT201.

An object built here and not refreshed keeps the relationships it was built with (`User(addresses=[...])`) or given
(`user.addresses = [...]`): the migrated session does not expire on commit, so a model or the function reading them
loads nothing and is not flagged (`_relationships_in_memory`).
"""

from __future__ import annotations

import ast

from codemods import edits as E
from codemods.edits import Edit
from codemods.type_inference import TypeInference
from codemods.types import ClassRef, Instance, SessionType

# the nodes that bind their target for a body: `for x in xs: ...` and the comprehensions
_LOOPS = (ast.For, ast.AsyncFor, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
# Session methods that unload what an object holds in memory: of that object, or of every object.
_UNLOADING_ONE = frozenset({"refresh", "expire"})
_UNLOADING_ALL = frozenset({"expire_all", "rollback"})


class RefreshedObjects(TypeInference):
    """Objects built here and refreshed whole (see the module's docstring)."""

    def _flag_unseen_model_of_refreshed_object(self, node: ast.Call, validated: Instance, drawn: bool) -> None:
        """`self.schema.model_validate(document)` (mealie's `RepositoryGeneric.create`) of an object built here and
        then `refresh()`ed whole, alone or in a loop over a collection of them (`drawn`: `create_many`): refresh()
        leaves every lazy relationship unloaded, even one just assigned, so whichever of them the model reads
        (awaitify cannot see which model it is) raises MissingGreenlet; the sync code loaded it on access."""
        document = node.args[0]
        if not isinstance(document, ast.Name):
            return
        if not (drawn or self._built_then_refreshed(document.id)):
            return
        self._flag_refreshed_for_unseen_model(node, node.func, validated, document.id)

    def _flag_refreshed_for_unseen_model(
        self, node: ast.Call, validating: ast.expr, validated: Instance, name: str
    ) -> None:
        """The AWT201 marker at `node`, where `validating` (`self.schema.model_validate`) reads the refreshed
        objects `name` holds, when their class (or a class its type variable stands for) has relationships."""
        bound = self.project.typevar_bound(validated.qualname)
        classes = {bound, *self.project.subclasses(bound)} if bound is not None else {validated.qualname}
        if not any(c in self.project.classes and self.project.has_relationships(c) for c in classes):
            return
        model = self.spans.segment(validating.value) if isinstance(validating, ast.Attribute) else "the model"
        text = (
            f"AWT201 refresh() left the relationships of {name} unloaded, and {model} may read them: "
            "MissingGreenlet under asyncio; name them in refresh(obj, attribute_names=[...]) or load them eagerly"
        )
        self.facts.lazy_reads.append(Edit(E.REVIEW, self.spans.span(node), text=text))

    def _relationships_in_memory(self, node: ast.expr, before: int) -> frozenset[str]:
        """The relationships `node`, a name, holds in memory at line `before`, so that reading them loads nothing:
        - of an object built in this function with them set, the keywords every `name = User(...)` of it names
          (`addresses=[...]`) and the `name.attr = ...` statements of the function's own body before the line: with
          `expire_on_commit=False` (the migrated session) a commit keeps them;
        - of any object the name is bound to once, the ones `db.refresh(name, ["addresses"])` loaded before the line.
        None when the function refreshes it whole, expires it, expires every object or rolls back (they unload
        them)."""
        if not isinstance(node, ast.Name) or self.func is None:
            return frozenset()
        name = node.id
        own_nodes = self._own_nodes()
        if any(isinstance(own, ast.Call) and self._unloads(own, name) for own in own_nodes):
            return frozenset()
        parameter = any(p.name == name for p in self.func.params)
        bindings = [own for own in own_nodes if binding(own, name)]
        refreshed = {
            attr
            for own in own_nodes
            if isinstance(own, ast.Call) and own.lineno < before
            for attr in _refreshed_by_name(own, name)
        }
        if len(bindings) + parameter != 1:
            refreshed = set()
        if parameter or not bindings:
            return frozenset(refreshed)
        named: frozenset[str] | None = None
        for bound in bindings:
            built = bound.value if isinstance(bound, ast.Assign) else None
            if not (
                isinstance(bound, ast.Assign)
                and len(bound.targets) == 1
                and isinstance(bound.targets[0], ast.Name)
                and isinstance(built, ast.Call)
                and isinstance(self.type_of(built.func), ClassRef)
            ):
                return frozenset(refreshed)
            keywords = frozenset(k.arg for k in built.keywords if k.arg)  # `**fields` may set more, never fewer
            named = keywords if named is None else named & keywords
        assigned = {
            target.attr
            for stmt in self.body
            if isinstance(stmt, ast.Assign) and stmt.lineno < before and len(stmt.targets) == 1
            for target in stmt.targets
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == name
        }
        return frozenset(refreshed | assigned | (named or frozenset()))

    @staticmethod
    def _unloads(node: ast.Call, name: str) -> bool:
        """`db.refresh(name)` with no attribute names, `db.expire(name)` (whatever attributes it names),
        `db.expire_all()`, `db.rollback()`. On anything: a session awaitify cannot type may unload it all the same,
        and a marker too many is safe."""
        func = node.func
        if not isinstance(func, ast.Attribute):
            return False
        if func.attr in _UNLOADING_ALL:
            return True
        if not (func.attr in _UNLOADING_ONE and node.args):
            return False
        of_name = isinstance(node.args[0], ast.Name) and node.args[0].id == name
        whole = func.attr == "expire" or (
            len(node.args) == 1 and not any(k.arg == "attribute_names" for k in node.keywords)
        )
        return of_name and whole

    def _built_then_refreshed(self, name: str) -> bool:
        """`name = Model(...)` (a project class, or a `type[Model]` of a type variable) and `db.refresh(name)` with
        no attribute names, both in this function."""
        built = refreshed = False
        for node in self._own_nodes():
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                built = built or (
                    isinstance(node.value, ast.Call) and isinstance(self.type_of(node.value.func), ClassRef)
                )
            elif isinstance(node, ast.Call) and self._refreshes_whole(node, name):
                refreshed = True
        return built and refreshed

    def _refreshes_whole(self, node: ast.Call, name: str) -> bool:
        """`db.refresh(name)` on a session, with no attribute names."""
        return (
            isinstance(node.func, ast.Attribute)
            and node.func.attr == "refresh"
            and isinstance(self.type_of(node.func.value), SessionType)
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == name
            and not any(k.arg == "attribute_names" for k in node.keywords)
        )

    def _element_of_refreshed_collection(self, call: ast.Call, element: ast.expr) -> Instance | None:
        """The objects `element` stands for at `call`, when it is the target of a loop or a comprehension over a
        collection of objects built here and refreshed whole, which `call` is inside of."""
        if not isinstance(element, ast.Name):
            return None
        collection = self._refreshed_loop_calls().get(id(call), {}).get(element.id)
        return self._refreshed_collections().get(collection) if collection is not None else None

    def _refreshed_collection(self, node: ast.expr) -> Instance | None:
        """The objects in `node`, a name of a collection of objects built here and refreshed whole."""
        return self._refreshed_collections().get(node.id) if isinstance(node, ast.Name) else None

    def _refreshed_loop_calls(self) -> dict[int, dict[str, str]]:
        """id() of each call inside a loop or comprehension over a refreshed collection -> {target: collection}.
        A comprehension's target is its own; a for loop's is the function's, so one the body binds again is not
        taken."""
        if self._refreshed_calls is None:
            self._refreshed_calls = {}
            collections = self._refreshed_collections()
            for node in self._own_nodes():
                if not isinstance(node, _LOOPS):
                    continue
                pairs = [(node.target, node.iter)] if isinstance(node, (ast.For, ast.AsyncFor)) else []
                pairs += [(g.target, g.iter) for g in getattr(node, "generators", [])]
                for target, iterable in pairs:
                    if not (isinstance(target, ast.Name) and isinstance(iterable, ast.Name)):
                        continue
                    if iterable.id not in collections:
                        continue
                    scope: list[ast.AST] = list(node.body) if isinstance(node, (ast.For, ast.AsyncFor)) else [node]
                    inside = [n for part in scope for n in ast.walk(part)]
                    if isinstance(node, (ast.For, ast.AsyncFor)) and any(_stores(n, target.id) for n in inside):
                        continue
                    for call in inside:
                        if isinstance(call, ast.Call):
                            self._refreshed_calls.setdefault(id(call), {})[target.id] = iterable.id
        return self._refreshed_calls

    def _refreshed_collections(self) -> dict[str, Instance]:
        """Name -> the objects it holds: collections built here of objects built here (see `_built_elements`)
        that a loop refreshes whole, one by one (`for user in users: db.refresh(user)`)."""
        if self._refreshed_lists is None:
            self._refreshed_lists = {}
            for node in self._own_nodes():
                if not (
                    isinstance(node, (ast.For, ast.AsyncFor))
                    and isinstance(node.target, ast.Name)
                    and isinstance(node.iter, ast.Name)
                ):
                    continue
                element = node.target.id
                refreshed = any(
                    isinstance(n, ast.Call) and self._refreshes_whole(n, element)
                    for part in node.body
                    for n in ast.walk(part)
                )
                if refreshed and node.iter.id not in self._refreshed_lists:
                    built = self._built_elements(node.iter.id)
                    if built is not None:
                        self._refreshed_lists[node.iter.id] = built
        return self._refreshed_lists

    def _built_elements(self, name: str) -> Instance | None:
        """The objects of one class collection `name` holds, when every binding of it in this function is a list
        of objects built here (`[User(...) for ...]`, `[User(...), User(...)]`, `[]`), and every element added to
        it too (`users.append(User(...))`, `users.append(user)` of a `user = User(...)`); None otherwise (a
        parameter, a query's result, anything else put in it)."""
        if self.func is not None and any(p.name == name for p in self.func.params):
            return None
        elements: list[ast.expr] = []
        for node in self._own_nodes():
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and _binds(node, name):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if not (len(targets) == 1 and isinstance(targets[0], ast.Name)):
                    return None  # unpacked (`users, rest = ...`), or one value for several names
                if isinstance(node.value, ast.List):
                    elements += node.value.elts
                elif isinstance(node.value, ast.ListComp):
                    elements.append(node.value.elt)
                else:
                    return None
            elif _rebinds(node, name):
                return None
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name
                and node.func.attr in {"append", "extend", "insert"}
            ):
                if node.func.attr != "append" or len(node.args) != 1:
                    return None
                elements.append(node.args[0])
        kinds = {self._built_object(element) for element in elements}
        if len(kinds) != 1:
            return None
        return kinds.pop()

    def _built_object(self, node: ast.expr) -> Instance | None:
        """The object `node` is, when it is built here: `User(...)` (a project class, or `self.model(...)` of a
        type variable), or a name every assignment of which in this function is such a call."""
        if isinstance(node, ast.Call):
            kind = self.type_of(node)
            return kind if isinstance(kind, Instance) and isinstance(self.type_of(node.func), ClassRef) else None
        if not isinstance(node, ast.Name):
            return None
        values = [
            n.value
            for n in self._own_nodes()
            if isinstance(n, ast.Assign) and any(_stores_in(t, node.id) for t in n.targets)
        ]
        kinds = {self._built_object(v) if isinstance(v, ast.Call) else None for v in values}
        return kinds.pop() if len(kinds) == 1 else None


def _rebinds(node: ast.AST, name: str) -> bool:
    """`for name in ...` / `with ... as name`: `name` bound to something else than a list."""
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return _stores_in(node.target, name)
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return any(item.optional_vars is not None and _stores_in(item.optional_vars, name) for item in node.items)
    return False


def _binds(node: ast.Assign | ast.AnnAssign | ast.AugAssign, name: str) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return any(_stores_in(target, name) for target in targets)


def _stores_in(target: ast.expr, name: str) -> bool:
    return any(_stores(n, name) for n in ast.walk(target))


def _stores(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store)


def binding(node: ast.AST, name: str) -> bool:
    """A statement or expression that binds `name` (an assignment, a loop's, a comprehension's or a `with`'s target,
    `:=`)."""
    if isinstance(node, ast.Assign):
        return any(_stores_in(t, name) for t in node.targets)
    if isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr, ast.comprehension)):
        return _stores_in(node.target, name)
    return _rebinds(node, name)


def _refreshed_by_name(node: ast.Call, name: str) -> list[str]:
    """The attribute names `x.refresh(name, ["a", ...])` / `attribute_names=[...]` names (on anything: see
    `_unloads`)."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "refresh" and node.args):
        return []
    if not (isinstance(node.args[0], ast.Name) and node.args[0].id == name):
        return []
    names = node.args[1] if len(node.args) > 1 else None
    names = next((k.value for k in node.keywords if k.arg == "attribute_names"), names)
    if not isinstance(names, (ast.List, ast.Tuple)):
        return []
    return [e.value for e in names.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
