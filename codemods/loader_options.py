"""Lazy loads: a relationship or deferred column read where the async session cannot load it, and the loader
options that load it up front.

`LoaderOptions` flags a read of a relationship the query did not load (`selectinload` added where the query is
known, a review marker where it is not) and loads what a response model or a model validation reads from the
objects a query returns. Apart from the walk, which calls it for every attribute read and every response.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from codemods import edits as E
from codemods import response_models as RM
from codemods import sqla_names as N
from codemods.analyzer_base import _Ctx, _walk_own
from codemods.edits import Edit
from codemods.refreshed_objects import binding
from codemods.template_contexts import TemplateContexts
from codemods.types import (
    ClassRef,
    ConnectionType,
    FunctionRef,
    Instance,
    InstanceChoice,
    InstanceList,
    LoadedEntities,
    SessionType,
    Type,
)

# Code working at the DB-API level: it holds the sync driver's own objects and SQL dialect, which the async driver
# does not share (AWT217).
_DBAPI_CONNECTION_REVIEW = (
    "AsyncConnection.connection raises: run DB-API code in await conn.run_sync(...), "
    "or use (await conn.get_raw_connection()).driver_connection"
)


class LoaderOptions(TemplateContexts):
    """Lazy reads and the loader options that prevent them (see the module's docstring)."""

    def _load_what_the_response_reads(self, stmt: ast.Return, returned: Type | None) -> None:
        """A route returning mapped objects: the lazy relationships its response model reads (after the function
        returns, where an `AsyncSession` cannot load them) are loaded with them (see `_load_what_a_model_reads`).
        A collection of objects built here and refreshed whole returns objects whose relationships are unloaded."""
        if returned is None and stmt.value is not None:
            refreshed = self._refreshed_collection(stmt.value)
            returned = InstanceList(refreshed.qualname) if refreshed is not None else None
        if isinstance(returned, (LoadedEntities, Instance, InstanceList)) and self.func is not None:
            schemas = RM.response_schemas(self.project, self.func)
            if schemas:
                kept = self._relationships_in_memory(stmt.value, stmt.lineno) if stmt.value is not None else frozenset()
                self._load_what_a_model_reads(stmt, returned, schemas, kept)

    def _visit_model_validation(self, node: ast.Call) -> None:
        """`UserOut.model_validate(user)` / `UserOut.from_orm(user)`: the model reads the relationships its
        fields name, as a response model does. So does `map(UserOut.model_validate, users)`, for each object. An
        object drawn from a collection of objects built here and refreshed whole has its relationships unloaded."""
        func = node.func
        if self.project.resolve_expr(self.module.name, func) == "builtins.map" and len(node.args) == 2:
            self._visit_mapped_validation(node, node.args[0], node.args[1])
            return
        if isinstance(func, ast.Attribute) and func.attr == "validate_python" and node.args:
            schemas = RM.adapted_schemas(self.project, self.module.name, self._local_call(func.value))
            if schemas:
                self._visit_adapted_validation(node, node.args[0], schemas)
            return
        if self.project.resolve_expr(self.module.name, func) in RM.DATACLASS_READERS and node.args:
            self._visit_dataclass_read(node, func, node.args[0])
            return
        if self.project.resolve_expr(self.module.name, func) in RM.PARSING_FUNCTIONS and len(node.args) == 2:
            schemas = RM.schema_classes(self.project, self.module.name, node.args[0])
            if schemas:
                self._visit_adapted_validation(node, node.args[1], schemas)
            return
        if not (isinstance(func, ast.Attribute) and func.attr in RM.VALIDATING_METHODS and node.args):
            return
        validated = self.type_of(node.args[0])
        drawn = self._element_of_refreshed_collection(node, node.args[0])
        if not isinstance(validated, (LoadedEntities, Instance, InstanceList)):
            if drawn is None:
                return
            validated = drawn
        schemas = RM.schema_classes(self.project, self.module.name, func.value)
        if schemas:
            kept = self._relationships_in_memory(node.args[0], node.lineno) if drawn is None else frozenset()
            self._load_what_a_model_reads(node, validated, schemas, kept)
        elif isinstance(validated, Instance):
            self._flag_unseen_model_of_refreshed_object(node, validated, drawn is not None)

    def _visit_dataclass_read(self, node: ast.Call, func: ast.expr, objects: ast.expr) -> None:
        """`dataclasses.asdict(user)` / `jsonable_encoder(users)` of objects of a mapped dataclass
        (`MappedAsDataclass`): every relationship is a field, read (recursively) as a response model reads the ones
        it names: loaded by the query of the objects, or flagged."""
        loaded = self.type_of(objects)
        if not isinstance(loaded, (LoadedEntities, Instance, InstanceList)):
            return
        chains = RM.dataclass_relationships(self.project, loaded.qualname)
        if chains:
            reader = f"{self.spans.segment(func)}()"
            self._load_chains(node, loaded, chains, reader, self._relationships_in_memory(objects, node.lineno))

    def _local_call(self, node: ast.expr) -> ast.expr:
        """The call a local name holds when this function binds it once, to a call (`adapter = TypeAdapter(...)`);
        `node` itself otherwise."""
        if not isinstance(node, ast.Name):
            return node
        bindings = [own for own in self._own_nodes() if binding(own, node.id)]
        if len(bindings) == 1 and isinstance(bindings[0], ast.Assign) and isinstance(bindings[0].value, ast.Call):
            return bindings[0].value
        return node

    def _visit_adapted_validation(self, node: ast.Call, objects: ast.expr, schemas: tuple[str, ...]) -> None:
        """`TypeAdapter(list[UserOut]).validate_python(users)` / `TypeAdapter(UserOut).validate_python(user)`: the
        adapter's models read what `UserOut.model_validate` would, of each object: loaded by the query of the
        objects, or flagged; so are objects built here and refreshed whole."""
        validated = self.type_of(objects)
        drawn = self._element_of_refreshed_collection(node, objects)
        if not isinstance(validated, (LoadedEntities, Instance, InstanceList)):
            refreshed = self._refreshed_collection(objects)
            validated = InstanceList(refreshed.qualname) if refreshed is not None else drawn
            if validated is None:
                return
        kept = self._relationships_in_memory(objects, node.lineno) if drawn is None else frozenset()
        self._load_what_a_model_reads(node, validated, schemas, kept)

    def _visit_mapped_validation(self, node: ast.Call, validating: ast.expr, collection: ast.expr) -> None:
        """`map(UserOut.model_validate, users)`: the model validates each object of the collection, as
        `[UserOut.model_validate(u) for u in users]` does: what it reads is loaded by the query of `users`, or
        flagged; so are the objects of a collection of objects built here and refreshed whole."""
        if not (isinstance(validating, ast.Attribute) and validating.attr in RM.VALIDATING_METHODS):
            return
        schemas = RM.schema_classes(self.project, self.module.name, validating.value)
        loaded = self.type_of(collection)
        if (isinstance(loaded, LoadedEntities) and loaded.is_list) or isinstance(loaded, InstanceList):
            if schemas:
                self._load_what_a_model_reads(node, loaded, schemas)
            return
        refreshed = self._refreshed_collection(collection)
        if refreshed is None:
            return
        if schemas:
            self._load_what_a_model_reads(node, InstanceList(refreshed.qualname), schemas)
        else:
            self._flag_refreshed_for_unseen_model(node, validating, refreshed, self.spans.segment(collection))

    def _load_what_a_model_reads(
        self,
        node: ast.AST,
        loaded: LoadedEntities | Instance | InstanceList,
        schemas: tuple[str, ...],
        in_memory: frozenset[str] = frozenset(),
    ) -> None:
        """The lazy relationships a pydantic model reads from mapped objects are loaded by the function's own query
        with `selectinload(...)`, or flagged at `node` where the objects come from elsewhere or a class down a
        nested model has no name in this module. An object built here holds the relationships `in_memory` (see
        `_relationships_in_memory`): reading one of them loads nothing (what the model reads below it may)."""
        chains = RM.serialised_relationships(self.project, loaded.qualname, schemas)
        self._load_chains(node, loaded, chains, schemas[0].rsplit(".", 1)[-1], in_memory)

    def _load_chains(
        self,
        node: ast.AST,
        loaded: LoadedEntities | Instance | InstanceList,
        chains: list[RM.Chain],
        reader: str,
        in_memory: frozenset[str],
    ) -> None:
        """The relationship `chains` that `reader` reads from `loaded`: loader options of the function's own query,
        or an AWT201 marker at `node` (see `_load_what_a_model_reads`)."""
        unloaded = []
        for chain in chains:
            if isinstance(loaded, Instance) and len(chain) == 1 and chain[0][1] in in_memory:
                continue
            if isinstance(loaded, LoadedEntities):
                if chain[0][1] in loaded.eager and len(chain) == 1:
                    continue  # the query's own options load it
                option = self._loader_chain(loaded, chain)
                if option is not None:
                    self._extra_options.setdefault(loaded.span, set()).add(option)
                    continue
            unloaded.append(".".join([chain[0][0].rsplit(".", 1)[-1], *(attr for _, attr in chain)]))
        if unloaded:
            text = (
                f"AWT201 {reader} reads {', '.join(unloaded)}, loaded lazily: MissingGreenlet "
                "under asyncio; load it with selectinload() where the object is queried, or refresh() it by name"
            )
            self.facts.lazy_reads.append(Edit(E.REVIEW, self.spans.span(node), text=text))

    def _loader_chain(self, loaded: LoadedEntities, chain: RM.Chain) -> str | None:
        """`selectinload(User.items).selectinload(Item.owner)` for a chain of relationships from `loaded`, or None
        when a class down the chain has no name in this module. A first relationship the query's own options load
        keeps their strategy (`defaultload(...)`: a second one for one path raises); objects loaded through a
        relationship (`loaded.path`) are reached through it."""
        first = "defaultload" if chain[0][1] in loaded.eager else "selectinload"
        parts = [f"{first}({loaded.entity_src}.{chain[0][1]})"]
        for class_qualname, attr in chain[1:]:
            local = self._local_name_of(class_qualname)
            if local is None:
                return None
            parts.append(f"selectinload({local}.{attr})")
        option = ".".join(parts)
        return f"{loaded.path}.{option}" if loaded.path else option

    def _add_loader_options(self) -> None:
        """Relationships read in this function from objects its own query loaded: load them eagerly."""
        if not self._extra_options:
            return
        for added in self._extra_options.values():
            # `selectinload(A.b)` is part of `selectinload(A.b).selectinload(B.c)`
            added -= {o for o in added if any(other.startswith(f"{o}.") for other in added)}
        updated = []
        for edit in self.facts.async_edits:
            options = self._extra_options.get(edit.span)
            if edit.kind == E.QUERY and edit.query is not None and options:
                edit = replace(edit, query=replace(edit.query, extra_options=tuple(sorted(options))))
                self._import_loaders(options)
            updated.append(edit)
        self.facts.async_edits = updated
        for span, options in self._extra_options.items():
            statement = self._select_statements.get(span)
            if statement is not None:  # `select(M)` -> `select(M).options(selectinload(M.rel))`
                text = f"{self.spans.segment(statement)}.options({', '.join(sorted(options))})"
                self._add_async_edit(Edit(E.REPLACE_EXPR, span, text=text))
                self._import_loaders(options)
                continue
            call = self._session_gets.get(span)
            if call is None:
                continue
            listed = next((k.value for k in call.keywords if k.arg == "options"), None)
            if isinstance(listed, ast.List):
                elements = ", ".join([*(self.spans.segment(e) for e in listed.elts), *sorted(options)])
                self._add_async_edit(Edit(E.REPLACE_EXPR, self.spans.span(listed), text=f"[{elements}]"))
            else:
                self._add_async_edit(Edit(E.ADD_KWARG, span, text=f"options=[{', '.join(sorted(options))}]"))
            self._import_loaders(options)

    def _import_loaders(self, options: set[str]) -> None:
        for loader in ("selectinload", "defaultload"):
            if any(f"{loader}(" in option for option in options):
                self.facts.async_imports.add(("sqlalchemy.orm", loader))

    def _visit_attribute_ref(self, node: ast.Attribute, ctx: _Ctx) -> None:
        owner = self.type_of(node.value)
        if isinstance(owner, ConnectionType) and not owner.is_async and node.attr == "connection":
            self._review(node, "AWT217", _DBAPI_CONNECTION_REVIEW)
            return
        if isinstance(owner, LoadedEntities) and not owner.is_list and self._replaces_collection(owner, node):
            self._load_before_use(owner, node)
            return
        if isinstance(owner, LoadedEntities) and not owner.is_list and isinstance(node.ctx, ast.Load):
            loading = self.project.relationship_loading(owner.qualname, node.attr)
            refreshed = (
                isinstance(node.value, ast.Name) and (node.value.id, node.attr) in self._refreshed_relationships()
            )
            if loading in N.LAZY_LOADING and loading != "dynamic" and node.attr not in owner.eager and not refreshed:
                self._load_before_use(owner, node)
            if loading in N.LAZY_LOADING and owner.constructed is not None and node.attr not in owner.constructed:
                self._flag_lazy_read(node, owner.qualname, f"set it where the object is built (`{node.attr}=[]`)")
            elif loading is None and self._column_left_unloaded(owner, node.attr):
                name = f"{owner.qualname.rsplit('.', 1)[-1]}.{node.attr}"
                self.facts.lazy_reads.append(
                    Edit(
                        E.REVIEW,
                        self.spans.span(node),
                        text=f"AWT201 deferred column {name} loads on access, which raises MissingGreenlet under "
                        "asyncio: undefer it where the object is queried",
                    )
                )
            return
        if isinstance(owner, Instance) and isinstance(node.ctx, ast.Load):
            loading = self.project.relationship_loading(owner.qualname, node.attr)
            if loading in N.LAZY_LOADING and node.attr not in self._relationships_in_memory(node.value, node.lineno):
                self._flag_lazy_read(node, owner.qualname)
        elif isinstance(owner, InstanceChoice) and not owner.is_list and isinstance(node.ctx, ast.Load):
            # an object of one of several mapped classes (`db.query(self.db_model).first()`): no option to load
            # with names the relationship of whichever it is
            lazy = [q for q in owner.qualnames if self.project.relationship_loading(q, node.attr) in N.LAZY_LOADING]
            if lazy:
                classes = ", ".join(q.rsplit(".", 1)[-1] for q in owner.qualnames)
                fix = f"the object is one of {classes}: load it where it is queried, for the class that has it"
                self._flag_lazy_read(node, lazy[0], fix)
        elif isinstance(owner, Instance) and self._replaces_stored_collection(owner, node):
            fix = "replacing the collection loads the old one first; load it with selectinload() where the object is "
            fix += "queried"
            self._flag_lazy_read(node, owner.qualname, fix)
        kind = self.type_of(node)
        if isinstance(kind, FunctionRef):
            self.facts.callback_refs.append((self.spans.span(node), node.lineno, kind.qualname))

    def _replaces_collection(self, owner: LoadedEntities, node: ast.Attribute) -> bool:
        """`user.addresses = [...]` of a lazy collection the query did not load: replacing a collection loads the
        old one first (to remove its members), a lazy load that raised MissingGreenlet after the migration."""
        if not isinstance(node.ctx, ast.Store) or node.attr in owner.eager:
            return False
        loading = self.project.relationship_loading(owner.qualname, node.attr)
        if loading not in N.LAZY_LOADING or loading == "dynamic":
            return False
        refreshed = isinstance(node.value, ast.Name) and (node.value.id, node.attr) in self._refreshed_relationships()
        return not refreshed and self.project.relationship_is_collection(owner.qualname, node.attr)

    def _replaces_stored_collection(self, owner: Instance, node: ast.Attribute) -> bool:
        """`user.orders = [...]` of a lazy collection of an object this function got from elsewhere (a parameter, a
        service's return): if it is stored, the assignment loads the old collection (MissingGreenlet). Not of an
        object the function builds (`user = User(...)`): a new object has no old collection to load."""
        if not isinstance(node.ctx, ast.Store) or not isinstance(node.value, ast.Name):
            return False
        loading = self.project.relationship_loading(owner.qualname, node.attr)
        if loading not in N.LAZY_LOADING or loading == "dynamic":
            return False
        if not self.project.relationship_is_collection(owner.qualname, node.attr):
            return False
        name = node.value.id
        for stmt in _walk_own(self.body):
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
                value = stmt.value
                if isinstance(value, ast.Call) and isinstance(self.type_of(value.func), ClassRef):
                    return False  # built here, in this or another branch: say nothing rather than guess
        return (name, node.attr) not in self._refreshed_relationships()

    def _load_before_use(self, owner: LoadedEntities, node: ast.Attribute) -> None:
        """The query that loaded `owner` loads `node.attr` with it: `selectinload(User.addresses)`."""
        option = f"selectinload({owner.entity_src}.{node.attr})"
        option = f"{owner.path}.{option}" if owner.path else option
        for span in (owner.span, *owner.other_spans):
            self._extra_options.setdefault(span, set()).add(option)

    def _refreshed_relationships(self) -> set[tuple[str, str]]:
        """`db.refresh(user, ["addresses"])` loads `user.addresses` itself: no loader option is needed for it."""
        if self._refreshed is None:
            self._refreshed = set()
            for node in self._own_nodes():
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "refresh"
                    and isinstance(self._owner_type(node.func), SessionType)
                    and node.args
                    and isinstance(node.args[0], ast.Name)
                ):
                    continue
                names = node.args[1] if len(node.args) > 1 else None
                names = next((k.value for k in node.keywords if k.arg == "attribute_names"), names)
                if isinstance(names, (ast.List, ast.Tuple)):
                    for name in names.elts:
                        if isinstance(name, ast.Constant) and isinstance(name.value, str):
                            self._refreshed.add((node.args[0].id, name.value))
        return self._refreshed

    def _column_left_unloaded(self, owner: LoadedEntities, attr: str) -> bool:
        """A column the query did not load: deferred in the model or by `defer()`, or left out of `load_only()`
        (the primary key always loads). Reading it emits a SELECT, as a lazy relationship does."""
        column = self._mapped_column(owner.qualname, attr)
        if column is None or owner.path:
            return False
        keywords = {k.arg: k.value for k in column.keywords} if isinstance(column, ast.Call) else {}
        primary_key, deferred = keywords.get("primary_key"), keywords.get("deferred")
        if isinstance(primary_key, ast.Constant) and primary_key.value is True:
            return False
        deferred_by_model = isinstance(column, ast.Call) and (
            (isinstance(deferred, ast.Constant) and deferred.value is True)
            or (self.project.resolve_expr(self.project.classes[owner.qualname].module, column.func) or "").endswith(
                "orm.deferred"
            )
        )
        unloaded = deferred_by_model
        for option in owner.column_options:
            if option.loader == "load_only":
                unloaded = attr not in option.names
            elif attr in option.names:
                unloaded = option.loader == "defer"
        return unloaded

    def _mapped_column(self, class_qualname: str, attr: str) -> ast.expr | None:
        """The class-level value that maps column `attr` (`mapped_column(...)`; the annotation alone for
        `x: Mapped[int]`), or None when `attr` is not a mapped column of the class."""
        for cls_name in self.project.mro(class_qualname):
            cls = self.project.classes[cls_name]
            for _, value in cls.attr_values.get(attr, []):
                if isinstance(value, ast.Call):
                    called = (self.project.resolve_expr(cls.module, value.func) or "").rsplit(".", 1)[-1]
                    if called in {"mapped_column", "Column", "column_property", "deferred"}:
                        return value
                return None
            annotation = cls.attr_annotations.get(attr)
            if annotation is not None:
                return annotation if ast.unparse(annotation).startswith("Mapped[") else None
        return None

    def _flag_lazy_read(
        self,
        node: ast.Attribute,
        class_qualname: str,
        fix: str = "load it with selectinload() where the object is queried",
    ) -> None:
        name = f"{class_qualname.rsplit('.', 1)[-1]}.{node.attr}"
        text = f"AWT201 lazy load of {name} raises MissingGreenlet under asyncio: {fix}"
        self.facts.lazy_reads.append(Edit(E.REVIEW, self.spans.span(node), text=text))
