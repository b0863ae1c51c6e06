"""What a part's solution must not use, and the static pass that finds it: the objects a
student's function refers to (globals, attributes, imports, closures, its own helpers), and
code copied from the library."""

from __future__ import annotations

import sys
import types

from .. import _monitor
from .session import (
    _FORBIDDEN,
    _Fail,
    _get_instructions,
    _is_grading_namespace,
    _isinstance,
    _len,
)

_AUTODIFF = ("jax", "autograd", "torch", "tensorflow", "numdifftools")
_EIGEN = ("numpy.linalg.eig", "numpy.linalg.eigh", "numpy.linalg.eigvals",
          "numpy.linalg.eigvalsh", "numpy.linalg.svd", "scipy")
# "never an explicit inverse": a linear system is solved, not inverted
_INVERSES = ("numpy.linalg.inv", "numpy.linalg.pinv", "scipy.linalg.inv", "scipy.linalg.pinv")


def forbidden_routines(part: str) -> tuple[str, ...]:
    """What the solution of ``part`` must not call: packages and dotted routine names.

    The instructions of the part list them (``curvature-lab check-course`` checks that they do).

    Examples
    --------
    >>> "numpy.linalg.inv" in forbidden_routines("newton_step")
    True
    """
    return tuple(_FORBIDDEN.get(part, ()))


def _resolve(dotted: str):
    """The object a dotted name refers to, if its module is loaded; else None."""
    parts = dotted.split(".")
    for cut in range(_len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is not None:
            obj = module
            for attr in parts[cut:]:
                obj = getattr(obj, attr, None)
                if obj is None:
                    return None
            return obj
    return None


def _origin(obj) -> str:
    """The dotted module name an object comes from ('' if unknown)."""
    if _isinstance(obj, types.ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None)
    if not _isinstance(module, str):
        module = getattr(type(obj), "__module__", "") or ""
        if module == "builtins":
            return ""
    return module


def _public_name(obj) -> str:
    if _isinstance(obj, types.ModuleType):
        return obj.__name__
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or "?"
    module = _origin(obj)
    if module.startswith("hessian_lab."):
        module = "hessian_lab"  # hessian_lab.optimizers.newton is exported as hessian_lab.newton
    return f"{module}.{name}" if module else name


def _is_forbidden(obj, names: tuple[str, ...], specific: list) -> bool:
    if any(obj is s for s in specific):
        return True
    origin = _origin(obj)
    for name in names:
        if "." in name and not _isinstance(obj, types.ModuleType) and not _isinstance(
                _resolve(name), types.ModuleType):
            continue
        if origin == name or origin.startswith(name + "."):
            return True
    return False


def _is_students(fn, root) -> bool:
    """Is ``fn`` code the student wrote (in the notebook), as opposed to a library's?"""
    module = getattr(fn, "__module__", None)
    if _isinstance(fn, types.FunctionType):
        return fn.__globals__ is root or module == "__main__"
    return module == "__main__"


def _references(fn, root=None, depth: int = 0, seen=None):
    """Yield the objects a student's function refers to: globals and attributes it names,
    modules it imports, closure cells, defaults, and (recursively) the student's own helpers.
    Library functions are yielded but not entered."""
    if seen is None:
        seen = set()
    if id(fn) in seen or depth > 8:
        return
    seen.add(id(fn))
    yield fn
    if root is None:
        root = getattr(fn, "__globals__", None)
    if _isinstance(fn, types.MethodType):
        yield from _references(fn.__func__, root, depth + 1, seen)
        yield from _references(fn.__self__, root, depth + 1, seen)
        return
    if type(fn).__name__ == "partial" and callable(getattr(fn, "func", None)):
        yield from _references(fn.func, root, depth + 1, seen)
        extra = tuple(getattr(fn, "args", ())) + tuple((getattr(fn, "keywords", {}) or {})
                                                       .values())
        for arg in extra:
            yield from _references(arg, root, depth + 1, seen)
        return
    if _isinstance(fn, type):
        if fn.__module__ == "__main__":  # the student's class: look at its methods
            for member in vars(fn).values():
                if _isinstance(member, (types.FunctionType, staticmethod, classmethod)):
                    member = getattr(member, "__func__", member)
                    yield from _references(member, root, depth + 1, seen)
        return
    if not _isinstance(fn, types.FunctionType):
        call = vars(type(fn)).get("__call__") if _isinstance(type(fn), type) else None
        if _isinstance(call, types.FunctionType) and _is_students(call, root):
            yield from _references(call, root, depth + 1, seen)  # a callable object
        return
    if not _is_students(fn, root):
        return  # a library function: yielded above, not entered
    namespace = fn.__globals__
    for value in (fn.__defaults__ or ()):
        yield from _references(value, root, depth + 1, seen)
    for value in (fn.__kwdefaults__ or {}).values():
        yield from _references(value, root, depth + 1, seen)
    for cell in fn.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        yield from _references(value, root, depth + 1, seen)
    global_names, attr_names, import_names = _code_names(fn.__code__)
    modules = []
    for name in global_names:
        if name in namespace:
            value = namespace[name]
            if _isinstance(value, types.ModuleType):
                modules.append(value)
            else:
                yield from _references(value, root, depth + 1, seen)
    for dotted in import_names:  # `import a.b` / `from a.b import c` inside the function
        parts = dotted.split(".")
        for cut in range(1, _len(parts) + 1):
            module = sys.modules.get(".".join(parts[:cut]))
            if module is not None:
                modules.append(module)
    # attributes named in the code, looked up on the modules it uses (np.linalg.eigh, ...)
    done = set()
    while modules:
        module = modules.pop()
        if id(module) in done:
            continue
        done.add(id(module))
        yield module
        for name in attr_names:
            value = getattr(module, name, None)
            if value is None:
                continue
            if _isinstance(value, types.ModuleType):
                modules.append(value)
            else:
                yield value


def _code_names(code) -> tuple[set, set, set]:
    """Names a code object (and the code nested in it) loads as globals, as attributes, and
    imports."""
    global_names, attr_names, import_names = set(), set(), set()
    stack = [code]
    while stack:
        current = stack.pop()
        stack.extend(c for c in current.co_consts if _isinstance(c, types.CodeType))
        for ins in _get_instructions(current):
            if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                global_names.add(ins.argval)
            elif ins.opname in ("LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM", "LOAD_SUPER_ATTR"):
                attr_names.add(ins.argval)
            elif ins.opname == "IMPORT_NAME":
                import_names.add(ins.argval)
    return global_names, attr_names, import_names


def _copied_from(obj) -> str:
    """The library function whose code ``obj`` (a function not defined in a library file)
    repeats, or ''."""
    if not _isinstance(obj, types.FunctionType):
        return ""
    code = obj.__code__
    if _monitor._kind_of_file(code.co_filename) != "student":
        return ""
    if _origin(obj).startswith("hessian_lab"):
        return f"hessian_lab ({obj.__name__}, defined from source in a library namespace)"
    if _monitor._long_enough(code):
        return _monitor.library_prints().get(_monitor.code_print(code), "")
    return ""


def _reject_reference_calls(part: str, name: str, fn) -> None:
    names = _FORBIDDEN.get(part, ())
    if not names:
        return
    specific = [obj for obj in (_resolve(n) for n in names if "." in n) if obj is not None]
    for obj in _references(fn):
        if _isinstance(obj, types.FunctionType) and _is_grading_namespace(obj.__globals__):
            continue  # the grading helpers themselves
        copied = _copied_from(obj)
        if copied:
            raise _Fail(f"{name} uses {getattr(obj, '__name__', '?')}, whose code is the "
                        f"library's own code of {copied} (its source copied, perhaps "
                        "renamed): this part earns no credit for it. Write the function "
                        "yourself. [review: copied library code]")
        if _is_forbidden(obj, names, specific):
            raise _Fail(
                f"{name} uses {_public_name(obj)}, which this part does not allow: it is the "
                "library's reference (or a ready-made routine) for what you are asked to "
                "write, so this part earns no credit. Not allowed here: "
                + ", ".join(names) + ". Write it yourself with numpy (see the instructions)."
            )



_OPTIMIZERS = ("hessian_lab.newton", "hessian_lab.gradient_descent", "hessian_lab.momentum",
               "hessian_lab.bfgs", "hessian_lab.lbfgs", "hessian_lab.gauss_newton",
               "hessian_lab.levenberg_marquardt", "hessian_lab.sam", "hessian_lab.optimizers")
