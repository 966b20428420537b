"""Mapped objects handed to a Jinja2 template, which reads what it likes of them while it renders.

awaitify does not read templates. A template rendered in a route made async runs in the event loop, where an
`AsyncSession` cannot lazy-load: a relationship the template reads raises MissingGreenlet. `TemplateContexts`
flags (AWT201) every object of a mapped class with relationships that reaches a template: through Starlette's
`templates.TemplateResponse(request, "user.html", context)` or Jinja2's own `template.render(...)`
(`env.get_template("user.html").render(user=user)`), with the context written in the call or built in a variable
first (`context = {"user": user}`, `context["user"] = user`, `context.update(user=user)`, `render(**context)`).
The renderers are known by what made them (`Jinja2Templates(...)`, `jinja2.Environment(...)`, `jinja2.Template(...)`,
a parameter annotated with one of those classes), never by a variable's name.
"""

from __future__ import annotations

import ast

from codemods import edits as E
from codemods.edits import Edit
from codemods.refreshed_objects import RefreshedObjects
from codemods.symbols import names_bound_in
from codemods.types import Instance, InstanceList, LoadedEntities

# what makes each kind of renderer: Starlette's wrapper, a Jinja2 environment, a Jinja2 template
_TEMPLATES = "templates"
_ENVIRONMENT = "environment"
_TEMPLATE = "template"
_MADE_BY = {
    "fastapi.templating.Jinja2Templates": _TEMPLATES,
    "starlette.templating.Jinja2Templates": _TEMPLATES,
    "jinja2.Environment": _ENVIRONMENT,
    "jinja2.environment.Environment": _ENVIRONMENT,
    "jinja2.sandbox.SandboxedEnvironment": _ENVIRONMENT,
    "jinja2.sandbox.ImmutableSandboxedEnvironment": _ENVIRONMENT,
    "jinja2.nativetypes.NativeEnvironment": _ENVIRONMENT,
    "jinja2.Template": _TEMPLATE,
    "jinja2.environment.Template": _TEMPLATE,
    "jinja2.nativetypes.NativeTemplate": _TEMPLATE,
}
# an environment's (and `Jinja2Templates`') methods that return a template
_TEMPLATE_LOOKUPS = frozenset({"get_template", "select_template", "get_or_select_template", "from_string"})
# a template's methods that render it with a context
_RENDER_METHODS = frozenset({"render", "render_async", "generate", "generate_async", "stream"})
_MAX_DEPTH = 4  # renderers made from renderers (`env.get_template(...)` of a module's `env`) followed this deep


class TemplateContexts(RefreshedObjects):
    """Objects a template may read while it renders (see the module's docstring)."""

    def _visit_template_context(self, node: ast.Call) -> None:
        """`templates.TemplateResponse(request, "user.html", {"user": user})` / `template.render(user=user)`: objects
        of a mapped class with relationships in the context are flagged (AWT201)."""
        func = node.func
        if not isinstance(func, ast.Attribute):
            return
        named = [keyword.value for keyword in node.keywords if keyword.arg is not None]
        unpacked = [keyword.value for keyword in node.keywords if keyword.arg is None]
        if func.attr == "TemplateResponse" and self._renderer_kind(self.module.name, func.value) == _TEMPLATES:
            contexts: list[ast.expr] = [arg for arg in node.args if isinstance(arg, (ast.Dict, ast.Call, ast.Name))]
            contexts += [keyword.value for keyword in node.keywords if keyword.arg == "context"]
            self._flag_templated(self._context_values(contexts), "while the response renders")
        elif func.attr in _RENDER_METHODS and self._renderer_kind(self.module.name, func.value) == _TEMPLATE:
            # `render({"user": user})`, `render(user=user)`, `render(**context)`: a dict's arguments
            self._flag_templated(named + self._context_values([*node.args, *unpacked]), "while it renders")

    def _flag_templated(self, values: list[ast.expr], when: str) -> None:
        for value in values:
            kind = self.type_of(value)
            if isinstance(kind, (LoadedEntities, Instance, InstanceList)) and self.project.has_relationships(
                kind.qualname
            ):
                text = (
                    f"AWT201 `{self.spans.segment(value)}` goes to a template, which may read relationships of "
                    f"{kind.qualname.rsplit('.', 1)[-1]} {when}: loaded lazily, MissingGreenlet "
                    "under asyncio; load what it reads with selectinload() where the object is queried"
                )
                edit = Edit(E.REVIEW, self.spans.span(value), text=text)
                if edit not in self.facts.lazy_reads:  # a context variable rendered twice
                    self.facts.lazy_reads.append(edit)

    def _context_values(self, contexts: list[ast.expr], seen: frozenset[str] = frozenset()) -> list[ast.expr]:
        """The values put in template contexts: a dict display (`**other` in it followed), `dict(user=user)` /
        `dict(other, user=user)`, and a local variable holding a dict, with what this function stores in it
        (`context["user"] = user`, `context.update(user=user)` / `.update({...})`, `context.setdefault("user",
        user)`). A context from elsewhere (a parameter, a helper's return) is not seen."""
        values: list[ast.expr] = []
        for context in contexts:
            if isinstance(context, ast.Dict):
                pairs = list(zip(context.keys, context.values, strict=True))
                values += [value for key, value in pairs if key is not None]
                values += self._context_values([value for key, value in pairs if key is None], seen)
            elif isinstance(context, ast.Call) and isinstance(context.func, ast.Name) and context.func.id == "dict":
                values += [keyword.value for keyword in context.keywords if keyword.arg is not None]
                inner = [*context.args[:1], *(keyword.value for keyword in context.keywords if keyword.arg is None)]
                values += self._context_values(inner, seen)
            elif isinstance(context, ast.Name) and context.id not in seen:
                values += self._dict_variable_values(context.id, seen | {context.id})
        return values

    def _dict_variable_values(self, name: str, seen: frozenset[str]) -> list[ast.expr]:
        """What this function puts in the dict it holds in `name` (see `_context_values`)."""
        contexts: list[ast.expr] = []
        values: list[ast.expr] = []
        for node in self._own_nodes():
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id == name:
                        contexts.append(node.value)
                    elif (
                        isinstance(target, ast.Subscript)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == name
                    ):
                        values.append(node.value)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name
            ):
                if node.func.attr == "update":
                    contexts += node.args
                    contexts += [keyword.value for keyword in node.keywords if keyword.arg is None]
                    values += [keyword.value for keyword in node.keywords if keyword.arg is not None]
                elif node.func.attr == "setdefault" and len(node.args) == 2:
                    values.append(node.args[1])
        return values + self._context_values(contexts, seen)

    def _renderer_kind(self, module: str, node: ast.expr, depth: int = 0) -> str | None:
        """What renders templates `node` (written in `module`) is, by what made it: `_TEMPLATES`, `_ENVIRONMENT`,
        `_TEMPLATE`, or None. A name is followed to its values in this function (all of one kind), a parameter to
        its annotation, a module global to its value; `templates.env` is an environment; `env.get_template(...)`
        (also of `templates`) a template."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, ast.Call):
            made = _MADE_BY.get(self.project.resolve_expr(module, node.func) or "")
            if made is not None:
                return made
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in _TEMPLATE_LOOKUPS:
                owner = self._renderer_kind(module, func.value, depth + 1)
                return _TEMPLATE if owner in {_ENVIRONMENT, _TEMPLATES} else None
            return None
        if isinstance(node, ast.Attribute) and node.attr == "env":
            owner = self._renderer_kind(module, node.value, depth + 1)
            if owner == _TEMPLATES:
                return _ENVIRONMENT
        if isinstance(node, ast.Name) and module == self.module.name and node.id in self._local_names():
            return self._local_renderer_kind(node.id, depth)
        qualname = self.project.resolve_expr(module, node)
        if qualname is None or "." not in qualname:
            return None
        owner_module, name = qualname.rsplit(".", 1)
        symbols = self.project.modules.get(owner_module)
        value = symbols.global_values.get(name) if symbols is not None else None
        return self._renderer_kind(owner_module, value, depth + 1) if isinstance(value, ast.expr) else None

    def _local_names(self) -> frozenset[str]:
        """The names this function binds (parameters, assignment and loop targets, ...), once."""
        if self._own_bound_names is None:
            bound = names_bound_in(self.func, self._own_nodes()) if self.func is not None else set()
            self._own_bound_names = frozenset(bound)
        return self._own_bound_names

    def _local_renderer_kind(self, name: str, depth: int) -> str | None:
        """A parameter by its annotation; an assigned name by its values, when they all agree."""
        if self.func is not None:
            param = next((p for p in self.func.params if p.name == name), None)
            if param is not None:
                if param.annotation is None:
                    return None
                return _MADE_BY.get(self.project.resolve_expr(self.func.module, param.annotation) or "")
        values = [
            node.value
            for node in self._own_nodes()
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        ]
        kinds = {self._renderer_kind(self.module.name, value, depth + 1) for value in values}
        return kinds.pop() if len(kinds) == 1 else None
