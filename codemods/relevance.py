"""Which modules the per-function analysis must look at: the cheap part of pass 1.

A module's functions can matter to a migration in only a few ways, and every one of them shows in the
symbol tables, or in the hints the analysis of other modules gathers:
- the module uses SQLAlchemy (sessions, queries, engines and their types come from there);
- it is a test module or a `conftest.py` (pytest hands fixtures over by parameter name, with no import);
- it reads `request.state.<x>` or `app.state.<x>` (a middleware or a lifespan may have stored a session or an
  engine there: `Project.state_type`);
- it defines an `async def` (a call to it that is not awaited is a finding, and a fix in migrated code);
- it imports a sync network client (`redis`, `requests`, `httpx`): a sync function of it that blocks on one, called
  from a function the migration makes async, is moved to a worker thread there (see `blocking_callees`);
- it defines, or is the package of, a configured `--session-factory`;
- it imports a module that matters (a call into it may become a call to an async function), or a package
  holding one (`import app` then `app.services.x.get(db)`); star imports count;
- it imports a module of blocking calls (`time`, `subprocess`, `urllib`, `socket`, `smtplib`, `ftplib`: see
  `blocking_calls.BLOCKING_PACKAGES`) and a module that matters imports it, directly or through modules that lead
  to it (`utils/retry.py` sleeping between attempts, called by a service): its sync functions may block a function
  the migration makes async (`blocking_callees`). Such a module is analysed for that alone: it makes no module
  importing it matter (its functions can become async only through a hint, which adds it as any other);
- one of its functions is handed a session or a query by a module that matters (the hints): an untyped
  `def paginate(query, page)` in a utility module becomes async when a service passes it a query;
- it defines a base class (or mixin) of a class in a module that matters, or a `typing.Protocol` one satisfies:
  an override doing I/O makes the base's method async (overrides share a color), and so the base's own methods
  calling it (`self.fetch()` in a template method of a plain `class BaseService:`).

Everything else (schemas, DTOs, parsers, plain utilities, most of a real repository) yields no facts that
can change anything: its functions never reach a session, and nothing that reaches one calls them. Those
modules are parsed and indexed like all others (names resolve into them), but not analysed, unless a
hint later names one of their functions: the hint rounds then add the module, and every module that
imports it, to the analysis.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping

from codemods.blocking_calls import BLOCKING_PACKAGES, CLIENT_PACKAGES
from codemods.project import Project
from codemods.pytest_support import is_test_module, is_test_path
from codemods.symbols import ModuleSymbols, module_name_for


def is_seed(symbols: ModuleSymbols) -> bool:
    """The module matters whatever imports it: it uses SQLAlchemy, is a test module, defines an `async def` or
    may read a session from `request.state` or `app.state`, or imports a sync network client."""
    return (
        symbols.uses_sqlalchemy
        or symbols.reads_state
        or is_test_module(symbols)
        or any(function.is_async for function in symbols.functions.values())
        or any(target.partition(".")[0] in CLIENT_PACKAGES for target in symbols.imports.values())
    )


# Words without which a module's text cannot make it a seed (see `is_seed`), nor, mostly, import one: a session
# parameter or dependency names `Session`, `session` or `db`.
_ANALYSED_WORDS = ("sqlalchemy", "Session", "session", "db", "async def", "state", "redis", "requests", "httpx")


def likely_analysed(path: str, text: str) -> bool:
    """From the text alone, before the parse: whether the analysis will probably read the module. Only a guess, for
    sharing the parse (see `parse_helper.split`): a wrong one costs a parse, never a different result."""
    return is_test_path(path) or any(word in text for word in _ANALYSED_WORDS)


def imports_blocking_calls(symbols: ModuleSymbols) -> bool:
    """The module imports from one whose calls block (`time.sleep`, `urllib.request.urlopen`, `subprocess.run`...)."""
    return any(target.partition(".")[0] in BLOCKING_PACKAGES for target in symbols.imports.values())


def name_parts(paths: Iterable[str]) -> frozenset[str]:
    """Every dotted part of the module names of these paths: an import whose first part is none of them reaches
    no module of the project, however the project's root is placed (see `Project.remap_source_root`)."""
    return frozenset(part for path in paths for part in module_name_for(path)[0].split("."))


def cannot_matter(symbols: ModuleSymbols, project_parts: frozenset[str]) -> bool:
    """Decided from the module's own symbols, before the rest of the project is parsed: it is no seed and imports
    nothing from the project, so only a hint can make it relevant (`project_parts`: see `name_parts`; a configured
    session factory is not looked at: the caller decides nothing this way when there is one)."""
    if is_seed(symbols):
        return False
    targets = [*symbols.imports.values(), *symbols.star_imports]
    return not any(target.partition(".")[0] in project_parts for target in targets)


class Relevance:
    def __init__(self, project: Project, modules: Mapping[str, ModuleSymbols]) -> None:
        """`modules`: path -> symbols of every module that may be analysed."""
        self._project = project
        self._path_of = {symbols.name: path for path, symbols in modules.items()}
        self._names = sorted(project.modules)
        self._importers: dict[str, set[str]] = {}
        self._imported: dict[str, set[str]] = {}  # module -> the modules it imports names from
        for symbols in modules.values():
            imported, under = self._reached_by_imports(symbols)
            self._imported[symbols.name] = imported
            for dependency in imported | under:
                self._importers.setdefault(dependency, set()).add(symbols.name)
        self._blocking = {s.name for s in modules.values() if imports_blocking_calls(s)}
        self.relevant: set[str] = set()
        seeds = [s.name for s in modules.values() if is_seed(s)]
        seeds += self._factory_modules(project.extra_session_factories)
        self.add(seeds)

    def paths(self) -> set[str]:
        """The modules to analyse: those that matter, and those analysed for their blocking calls alone."""
        names = self.relevant | self.blocking_reach()
        return {self._path_of[name] for name in names if name in self._path_of}

    def blocking_reach(self) -> set[str]:
        """The modules that do not matter, imported by one that does (directly or through such modules), that lead
        to a module importing blocking calls (see the module's docstring), that module included. Derived from
        `relevant` every time: the hint rounds only add to it, and a restart of the analysis sets it back."""
        if not self._blocking - self.relevant:
            return set()
        reached: set[str] = set()  # the modules that do not matter, reached by imports from those that do
        stack = [other for name in self.relevant for other in self._imported.get(name, ())]
        while stack:
            name = stack.pop()
            if name in reached or name in self.relevant:
                continue
            reached.add(name)
            stack.extend(self._imported.get(name, ()))
        leading = reached & self._blocking
        stack = list(leading)
        while stack:  # back along the imports, within `reached`
            name = stack.pop()
            for importer in self._importers.get(name, ()):
                if importer in reached and importer not in leading and name in self._imported.get(importer, ()):
                    leading.add(importer)
                    stack.append(importer)
        return leading

    def import_links(self) -> dict[str, set[str]]:
        """path -> the paths of the modules it imports names from: where the functions it calls are, which its
        analysis asks for (an import of a whole package, which reaches every module in it, is left out)."""
        return {
            self._path_of[name]: {self._path_of[other] for other in imported if other in self._path_of}
            for name, imported in self._imported.items()
            if name in self._path_of
        }

    def add(self, names: Iterable[str]) -> set[str]:
        """Make these modules, and every module that (transitively) imports one, relevant; the paths added (and
        those of the modules now analysed for their blocking calls, see `blocking_reach`)."""
        before = self.paths() if self._blocking else set()
        added = self._add(names)
        return added | (self.paths() - before) if self._blocking else added

    def _add(self, names: Iterable[str]) -> set[str]:
        added: set[str] = set()
        stack = [name for name in names if name not in self.relevant]
        while stack:
            name = stack.pop()
            if name in self.relevant:
                continue
            self.relevant.add(name)
            if name in self._path_of:
                added.add(self._path_of[name])
            stack.extend(importer for importer in self._importers.get(name, ()) if importer not in self.relevant)
            stack.extend(base for base in self._base_modules(name) if base not in self.relevant)
        return added

    def add_functions(self, qualnames: Iterable[str]) -> set[str]:
        """The modules of functions a hint names (see `argument_hints.hinted_functions`): the paths added."""
        return self.add(self._owner(qualname) for qualname in qualnames)

    # -- the module graph ----------------------------------------------------------------------------
    def _factory_modules(self, factories: Iterable[str]) -> list[str]:
        return [self._owner(self._project.canonical(factory)) for factory in factories]

    def _base_modules(self, name: str) -> set[str]:
        """The modules defining the ancestors of the classes of module `name`, and the protocols they satisfy."""
        symbols = self._project.modules.get(name)
        if symbols is None:
            return set()
        return {
            self._project.classes[ancestor].module
            for cls in symbols.classes.values()
            for ancestor in [*self._project.mro(cls.qualname)[1:], *self._project.implemented_protocols(cls.qualname)]
        }

    def _reached_by_imports(self, symbols: ModuleSymbols) -> tuple[set[str], set[str]]:
        """The project modules a module's imports can reach: the module of each imported name (as written and
        after following re-exports), and every module of an imported package (apart: see `import_links`)."""
        owners: set[str] = set()
        under: set[str] = set()
        for target in [*symbols.imports.values(), *symbols.star_imports]:
            written = self._project.remap_source_root(target)
            for name in (written, self._project.canonical(target)):
                owner = self._owner(name)
                if owner:
                    owners.add(owner)
            under.update(self._under(written))
        owners.discard(symbols.name)
        under.discard(symbols.name)
        return owners, under

    def _owner(self, dotted: str) -> str:
        """The longest prefix of `dotted` that is a module of the project ("" when none is)."""
        return self._project.owning_module(dotted) or ""

    def _under(self, package: str) -> list[str]:
        """Every module of the project inside `package` (an import of a package reaches its submodules)."""
        start = bisect.bisect_left(self._names, package + ".")
        end = bisect.bisect_left(self._names, package + "/")  # "/" sorts right after "."
        return self._names[start:end]
