"""The grading checks' run-time watch on a student's function: what it calls while it runs.

The static pass of :mod:`hessian_lab.grading` reads the names a function's code mentions; a
name built at run time (``importlib.import_module``, ``getattr(hl, "new" + "ton")``,
``sys.modules``, an attribute of an instance, ``exec`` of copied source) escapes it. While a
check calls the student's code, :class:`Watch` is the profile function (``sys.setprofile``,
also for threads the code starts) and records

* a call of a routine the part forbids, however its name was obtained: a forbidden object
  (``numpy.linalg.inv``, ``hessian_lab.newton``) called from the student's code directly or
  through library code such as ``functools.partial`` or ``numpy.vectorize``; or any function
  of a forbidden package (``hessian_lab``, ``scipy.optimize``) entered from outside that
  package, except the callables the check itself passed in (a problem's gradient);
* student code whose bytecode is the library's own (source copied with ``inspect.getsource``
  and ``exec``, renamed or not): compared by instructions, names and constants, for library
  functions long enough that nobody writes the same by chance;
* an attempt to switch the watch off (``sys.setprofile``, ``sys.settrace``) or to start a
  process (``os.fork``, ``subprocess``) while being graded.

Calls made by the grading module's own code are never counted. This module imports nothing
from the rest of the package at import time.
"""

from __future__ import annotations

import dis
import hashlib
import importlib.util
import os
import sys
import threading
import types

_LIBRARY_ROOTS = tuple(sorted({os.path.realpath(p) + os.sep for p in (
    sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.__file__))}))
_PACKAGE_DIR = os.path.dirname(os.path.realpath(__file__)) + os.sep
_GRADING_DIR = os.path.join(_PACKAGE_DIR, "grading") + os.sep
_GRADING_FILES = (os.path.realpath(__file__),)
# code shorter than this is not compared: short helpers are written alike by many
MIN_COPY_INSTRUCTIONS = 60
_FILE_KIND: dict[str, str] = {}


def _kind_of_file(filename: str) -> str:
    """'grader', 'library' or 'student' for a code object's file name."""
    kind = _FILE_KIND.get(filename)
    if kind is None:
        real = os.path.realpath(filename) if os.path.isabs(filename) else filename
        if real in _GRADING_FILES or (real.startswith(_GRADING_DIR) and real.endswith(".py")):
            kind = "grader"
        elif real.startswith(_PACKAGE_DIR) or real.startswith(_LIBRARY_ROOTS):
            kind = "library"
        elif filename.startswith("<frozen"):
            kind = "library"
        else:
            kind = "student"  # notebook cells, exec'd strings, files the student wrote
        _FILE_KIND[filename] = kind
    return kind


def _module_path(dotted: str) -> str | None:
    """The file or folder of a module or package named ``dotted``, found without importing
    it (None when the name is not a module: then it names an object)."""
    top, *rest = dotted.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin in (None, "built-in", "frozen"):
        return None
    base = os.path.dirname(os.path.realpath(spec.origin)) if spec.submodule_search_locations \
        else os.path.realpath(spec.origin)
    if not rest:
        return base + (os.sep if spec.submodule_search_locations else "")
    path = os.path.join(base, *rest)
    if os.path.isdir(path):
        return path + os.sep
    for suffix in (".py",):
        if os.path.exists(path + suffix):
            return path + suffix
    return None


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is not None:
            obj = module
            for attr in parts[cut:]:
                obj = getattr(obj, attr, None)
                if obj is None:
                    return None
            return obj
    return None


def _code_of(obj):
    if isinstance(obj, types.FunctionType):
        return obj.__code__
    impl = getattr(obj, "_implementation", None)  # numpy's array-function dispatchers
    if isinstance(impl, types.FunctionType):
        return impl.__code__
    func = getattr(obj, "__func__", None)
    if isinstance(func, types.FunctionType):
        return func.__code__
    return None


_SKIPPED_OPS = {"CACHE", "RESUME", "NOP", "EXTENDED_ARG", "PRECALL", "KW_NAMES",
                "COPY_FREE_VARS", "MAKE_CELL"}
_SAME_OP = {"LOAD_METHOD": "LOAD_ATTR", "CALL_METHOD": "CALL", "CALL_FUNCTION": "CALL"}


def _instructions(code: types.CodeType) -> list:
    return [ins for ins in dis.get_instructions(code) if ins.opname not in _SKIPPED_OPS]


def code_print(code: types.CodeType) -> str:
    """A digest of what a code object does, blind to the names of its locals and of itself
    and to how a compiler laid out its jumps (instructions, attribute and global names,
    constants, nested code)."""
    digest = hashlib.sha256()
    for ins in _instructions(code):
        op = _SAME_OP.get(ins.opname, ins.opname)
        if ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs or "JUMP" in op:
            arg = ""
        elif ins.opcode in dis.haslocal or ins.opcode in dis.hasfree:
            arg = str(ins.arg)  # renaming a local keeps its slot
        elif isinstance(ins.argval, types.CodeType):
            arg = code_print(ins.argval)
        else:
            arg = repr(ins.argval) if isinstance(ins.argval, (
                int, float, complex, str, bytes, bool, type(None), tuple, frozenset)) else ""
        digest.update(f"{op}:{arg};".encode())
    return digest.hexdigest()


def _long_enough(code: types.CodeType) -> bool:
    return len(_instructions(code)) >= MIN_COPY_INSTRUCTIONS


_LIBRARY_PRINTS: dict[str, str] = {}


def library_prints() -> dict[str, str]:
    """{code print: 'hessian_lab.module.function'} for the library's longer functions."""
    if _LIBRARY_PRINTS:
        return _LIBRARY_PRINTS
    for name, module in list(sys.modules.items()):
        if (not name.startswith("hessian_lab") or module is None or ".demos" in name
                or name == "hessian_lab._monitor" or name == "hessian_lab.grading"
                or name.startswith("hessian_lab.grading.")):
            continue
        for key, value in list(vars(module).items()):
            members = [(key, value)]
            if isinstance(value, type) and getattr(value, "__module__", "") == name:
                members += [(f"{key}.{k}", v) for k, v in vars(value).items()]
            for label, member in members:
                code = _code_of(member)
                if code is None or _kind_of_file(code.co_filename) != "library":
                    continue
                stack = [code]
                while stack:
                    current = stack.pop()
                    stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
                    if _long_enough(current):
                        _LIBRARY_PRINTS.setdefault(code_print(current),
                                                   f"{name}.{label}".replace("..", "."))
    return _LIBRARY_PRINTS


def _allowed_codes(values) -> set:
    """The code of the callables a check passes to the student (and of their attributes)."""
    found = set()

    def add(obj, depth):
        code = _code_of(obj)
        if code is not None:
            found.add(code)
            func = getattr(obj, "__func__", obj)
            for cell in getattr(func, "__closure__", None) or ():
                try:
                    add(cell.cell_contents, depth + 1) if depth < 2 else None
                except ValueError:
                    pass
        call = vars(type(obj)).get("__call__") if isinstance(type(obj), type) else None
        if isinstance(call, types.FunctionType):
            found.add(call.__code__)
        if depth < 1 and not isinstance(obj, (type, types.ModuleType)):
            attrs = getattr(obj, "__dict__", None)
            if isinstance(attrs, dict):
                for value in list(attrs.values()):
                    add(value, depth + 1)
            for value in vars(type(obj)).values() if isinstance(type(obj), type) else ():
                if isinstance(value, (types.FunctionType, property, staticmethod,
                                      classmethod)):
                    target = getattr(value, "fget", None) or getattr(value, "__func__", value)
                    if isinstance(target, types.FunctionType):
                        found.add(target.__code__)
        if isinstance(obj, (list, tuple)) and depth < 1:
            for item in obj[:20]:
                add(item, depth + 1)

    for value in values:
        add(value, 0)
    return found


_SWITCHES = {sys.setprofile, sys.settrace, threading.setprofile, threading.settrace}
_PROCESSES = {getattr(os, name) for name in (
    "fork", "forkpty", "system", "popen", "posix_spawn", "posix_spawnp", "execv", "execve",
    "spawnv", "spawnve") if hasattr(os, name)}


def _dotted(code, package: str, path: str) -> str:
    """'hessian_lab.optimizers.newton' for the code of a function in a forbidden package."""
    real = os.path.realpath(code.co_filename)
    rel = real[len(path):] if path.endswith(os.sep) else ""
    rel = rel[:-3] if rel.endswith(".py") else rel
    parts = [p for p in rel.split(os.sep) if p and p != "__init__"]
    return ".".join([package, *parts, getattr(code, "co_qualname", code.co_name)])


class Watch:
    """Profile function recording forbidden calls while one student call runs.

    ``names``: the part's forbidden list (packages and dotted objects); ``passed``: the values
    the check hands to the student (their callables are allowed).
    """

    def __init__(self, names, passed=()):
        self.packages, self.objects = [], []
        for name in names:
            path = _module_path(name)
            if path is not None:
                self.packages.append((name, path))
            else:
                self.objects.append(name)
        self.allowed = _allowed_codes(passed)
        self.forbidden_codes: dict = {}
        self.forbidden_c: dict = {}
        self._modules_seen = -1
        self.cache: dict = {}
        self.found: list[str] = []
        self.copied: list[str] = []
        self.switched = False
        self.prints = library_prints()

    # -- classification
    def _refresh(self) -> None:
        if len(sys.modules) == self._modules_seen:
            return
        self._modules_seen = len(sys.modules)
        for name in self.objects:
            obj = _resolve(name)
            if obj is None:
                continue
            seen = 0
            while callable(getattr(obj, "__wrapped__", None)) and seen < 10:
                obj, seen = obj.__wrapped__, seen + 1  # a decorator's shared wrapper code
            code = _code_of(obj)
            if code is not None:
                self.forbidden_codes[code] = name
            elif callable(obj):
                self.forbidden_c[id(obj)] = name
        self.cache.clear()

    def _classify(self, code):
        if code in self.allowed:
            return None
        name = self.forbidden_codes.get(code)
        if name is not None:
            return ("object", name)
        filename = code.co_filename
        if _kind_of_file(filename) == "grader":
            return None
        real = os.path.realpath(filename) if os.path.isabs(filename) else filename
        for package, path in self.packages:
            if real == path or (path.endswith(os.sep) and real.startswith(path)):
                return ("package", package, path)
        if _kind_of_file(filename) == "student" and _long_enough(code):
            origin = self.prints.get(code_print(code))
            if origin is not None:
                return ("copy", origin)
        return None

    @staticmethod
    def _reached_by_student(caller) -> bool:
        """Walk out from ``caller``: True if student code is met before the grader's own."""
        while caller is not None:
            kind = _kind_of_file(caller.f_code.co_filename)
            if kind == "student":
                return True
            if kind == "grader":
                return False
            caller = caller.f_back
        return False

    # -- the profile function
    def __call__(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            try:
                verdict = self.cache[code]
            except KeyError:
                self._refresh()
                verdict = self.cache[code] = self._classify(code)
            if verdict is None:
                return
            if verdict[0] == "copy":
                if verdict[1] not in self.copied:
                    self.copied.append(verdict[1])
                return
            if verdict[0] == "package":
                caller = frame.f_back
                if caller is not None:
                    filename = caller.f_code.co_filename
                    real = os.path.realpath(filename) if os.path.isabs(filename) else filename
                    path = verdict[2]
                    if caller.f_code in self.allowed or real == path or (
                            path.endswith(os.sep) and real.startswith(path)):
                        return  # inside the package already, or a callable we passed in
            if self._reached_by_student(frame.f_back):
                label = verdict[1] if verdict[0] == "object" else _dotted(code, *verdict[1:])
                if label not in self.found:
                    self.found.append(label)
        elif event == "c_call":
            if arg in _SWITCHES:
                if self._reached_by_student(frame):
                    self.switched = True
            elif arg in _PROCESSES:
                label = "os." + getattr(arg, "__name__", "?") + " (starting a process)"
                if label not in self.found and self._reached_by_student(frame):
                    self.found.append(label)
            elif id(arg) in self.forbidden_c and self._reached_by_student(frame):
                if self.forbidden_c[id(arg)] not in self.found:
                    self.found.append(self.forbidden_c[id(arg)])

    # -- switching on and off
    def __enter__(self):
        self._previous = sys.getprofile()
        threading.setprofile(self)
        sys.setprofile(self)
        return self

    def __exit__(self, *exc):
        if sys.getprofile() is not self:
            self.switched = True
        sys.setprofile(self._previous)
        threading.setprofile(None)
        return False
