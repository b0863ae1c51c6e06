"""The grading sandbox: every grading kernel runs under bubblewrap, one sandbox per submission.

nbgrader starts kernels from a kernelspec; ``tools/grade.py`` writes one (``curvature-sandbox``)
whose command is this file. Started by jupyter_client in the trusted ``nbgrader autograde``
process (working directory: the submission's autograded folder), it

1. makes a private directory for this kernel under ``$CURVATURE_LAB_SANDBOX_ROOT``: ``work/``
   (a copy of the non-notebook files of the working directory; mounted over it, so nothing
   the kernel writes reaches the course directory) and ``home/``;
2. sets limits the sandboxed code cannot raise: the address space (hard ``RLIMIT_AS``), CPU
   seconds (``RLIMIT_CPU``), the size of one written file (``RLIMIT_FSIZE``), no core dumps, and
   the number of processes (a ``pids`` cgroup when the grader is root, ``RLIMIT_NPROC``
   otherwise);
3. replaces itself with ``bwrap``: read-only ``/usr``, the Python installation, the venv and
   the ``hessian_lab`` package; a few files of ``/etc``; its own ``/proc``, ``/dev`` and
   ``/tmp``; the kernel's connection folder (IPC sockets: no TCP is needed and there is no
   network); the private directory; a cleared environment; new user, PID, network, IPC and
   UTS namespaces; no capabilities; ``--die-with-parent`` so that nothing outlives the kernel.

What the kernel cannot see: the gradebook, the other submissions, the course's ``solutions/``,
the round's outputs, the instructor's home and environment (the seed included).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

KERNEL_NAME = "curvature-sandbox"
ROOT_ENV = "CURVATURE_LAB_SANDBOX_ROOT"
LIMITS_ENV = "CURVATURE_LAB_SANDBOX_LIMITS"
# The only variables a grading kernel gets from outside (OpenBLAS needs its core type on some
# processors; the time limit is the in-kernel limit per student call).
PASSED_THROUGH = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                  "OMP_NUM_THREADS", "CURVATURE_LAB_TIME_LIMIT")
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts", "/etc/alternatives",
             "/etc/nsswitch.conf", "/etc/mime.types")
HOME = "/home/student"
RUNTIME_PREFIX = "clrt-"  # the folder of a kernel's connection file and IPC sockets
CGROUP_PARENTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")  # cgroup v1, then v2
DEFAULT_LIMITS = {"memory_bytes": 5 * 2**30, "cpu_seconds": 1200, "processes": 64,
                  "file_bytes": 2**30, "tmp_bytes": 2**30, "in_kernel_memory_gb": 2.0}


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def probe() -> str:
    """'' when a sandbox can be made here, else why not (for the grading script's refusal)."""
    bwrap = bwrap_path()
    if bwrap is None:
        return ("bubblewrap (bwrap) is not installed: on Debian or Ubuntu, "
                "`sudo apt-get install bubblewrap`")
    cmd = [bwrap, *_system_binds(), "--unshare-all", "--die-with-parent", "--cap-drop", "ALL",
           "--clearenv", sys.executable, "-c", "print('ok')"]
    cmd[-4:-4] = _python_binds()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not be started ({exc})"
    if proc.returncode != 0 or proc.stdout.strip() != "ok":
        return ("bwrap cannot make a sandbox here (user namespaces disabled?): "
                + (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1])
    return ""


def write_kernelspec(jupyter_dir: Path) -> Path:
    """The kernelspec nbgrader's Execute uses (``--Execute.kernel_name=curvature-sandbox``)."""
    spec_dir = jupyter_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-I", str(Path(__file__).resolve()), "-f", "{connection_file}"],
        "display_name": "Python 3 (Curvature Lab grading sandbox)",
        "language": "python",
        # a signal to bwrap does not reach the kernel inside its PID namespace; ipykernel
        # answers an interrupt_request on the control channel by interrupting itself
        "interrupt_mode": "message",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir


def _symlink_or_bind(path: str) -> list[str]:
    if os.path.islink(path):
        return ["--symlink", os.readlink(path), path]
    if os.path.exists(path):
        return ["--ro-bind", path, path]
    return []


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for path in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        args += _symlink_or_bind(path)
    for path in ETC_FILES:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def _python_binds() -> list[str]:
    """The interpreter, the venv and the hessian_lab package, read-only, at their own paths."""
    import importlib.util

    spec = importlib.util.find_spec("hessian_lab")  # found, not imported (no numpy here)
    if spec is None or spec.origin is None:
        raise SystemExit("sandbox.py: hessian_lab is not installed in this Python")
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
             os.path.realpath(Path(spec.origin).parent)}
    exe = os.path.realpath(sys.executable)
    if not any(exe.startswith(p + os.sep) for p in paths):
        paths.add(os.path.dirname(exe))
    args = []
    for path in sorted(paths):
        args += ["--ro-bind", path, path]
    # the venv may reach them through symlinked paths (e.g. sys.prefix itself)
    for path in (sys.prefix, sys.base_prefix):
        if os.path.realpath(path) != path and os.path.isdir(path):
            args += ["--ro-bind", os.path.realpath(path), path]
    return args


def _limits() -> dict:
    limits = dict(DEFAULT_LIMITS)
    try:
        limits.update(json.loads(os.environ.get(LIMITS_ENV, "") or "{}"))
    except ValueError:
        pass
    return limits


def _join_cgroup(name: str, processes: int) -> bool:
    """Put this process into a fresh pids cgroup (root only); True when it worked."""
    for parent in CGROUP_PARENTS:
        base = Path(parent)
        if not (base / "cgroup.procs").exists():
            continue
        controllers = base / "cgroup.controllers"  # cgroup v2: is the pids controller on?
        if parent == "/sys/fs/cgroup" and not (
                controllers.exists() and "pids" in controllers.read_text().split()):
            continue
        round_name = Path(os.environ.get(ROOT_ENV) or "/adhoc/x").parent.name
        group = base / "curvature-lab" / f"{round_name}--{name}"
        try:
            group.mkdir(parents=True, exist_ok=True)
            (group / "pids.max").write_text(str(processes))
            (group / "cgroup.procs").write_text(str(os.getpid()))
            return True
        except OSError:
            continue
    return False


def _count_own_processes() -> int:
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def _set_limits(limits: dict, name: str) -> None:
    def cap(which, value):
        value = int(value)
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_AS, limits["memory_bytes"])
    cap(resource.RLIMIT_CPU, limits["cpu_seconds"])
    cap(resource.RLIMIT_FSIZE, limits["file_bytes"])
    cap(resource.RLIMIT_CORE, 0)
    if os.getuid() == 0:
        # root is exempt from RLIMIT_NPROC: a pids cgroup bounds the processes instead
        if not _join_cgroup(name, limits["processes"]):
            print("[sandbox] warning: no pids cgroup available: the number of processes is "
                  "not bounded", file=sys.stderr)
    else:
        cap(resource.RLIMIT_NPROC, _count_own_processes() + limits["processes"])


def _private_dir(cwd: str) -> Path:
    root = Path(os.environ.get(ROOT_ENV) or tempfile.gettempdir())
    private = Path(tempfile.mkdtemp(prefix="kernel-", dir=root))
    work, home = private / "work", private / "home"
    home.mkdir()
    skip = shutil.ignore_patterns("*.ipynb", ".*")
    root_real = root.resolve()

    def ignore(folder: str, names: list[str]) -> set[str]:
        # the notebooks and hidden files stay out; so does the sandboxes' own folder when it
        # lies inside the working directory (copying it into itself would never end)
        return set(skip(folder, names)) | {n for n in names
                                           if (Path(folder) / n).resolve() == root_real}

    shutil.copytree(cwd, work, ignore=ignore, dirs_exist_ok=True)
    return private


def command(connection_file: str, kernel_args: list[str], cwd: str) -> list[str]:
    """The bwrap command line for one kernel (the private directory is made here)."""
    limits = _limits()
    private = _private_dir(cwd)
    runtime = os.path.dirname(os.path.abspath(connection_file))
    with open(connection_file) as handle:
        info = json.load(handle)
    if info.get("transport") != "ipc" or os.path.dirname(str(info.get("ip"))) != runtime:
        raise SystemExit("sandbox.py: the kernel must use the IPC transport with its sockets "
                         "beside the connection file (--KernelManager.transport=ipc "
                         "--KernelManager.ip=<that folder>/kernel): TCP cannot reach a kernel "
                         "without a network")
    if not os.path.basename(runtime).startswith(RUNTIME_PREFIX):
        # the IPC sockets live beside the connection file, and that folder is mounted into
        # the sandbox: it must be one made for this kernel (grade.py points TMPDIR at it)
        raise SystemExit(f"sandbox.py: the connection file must be in a folder named "
                         f"{RUNTIME_PREFIX}*, not {runtime} (set TMPDIR to such a folder)")
    env = {"PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
           "HOME": HOME, "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{HOME}/.config/matplotlib",
           "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           "CURVATURE_LAB_MEMORY_GB": str(limits["in_kernel_memory_gb"]),
           "CURVATURE_LAB_SANDBOXED": "1"}
    for name in PASSED_THROUGH:
        if os.environ.get(name):
            env[name] = os.environ[name]
    # bwrap mounts in argument order: the fresh /tmp comes first, so that the binds after it
    # (the venv, the package, the connection folder, the working copy) stay visible when
    # they live under /tmp themselves (a repository cloned there, as CI may do)
    cmd = [bwrap_path() or "bwrap",
           "--size", str(int(limits["tmp_bytes"])), "--tmpfs", "/tmp",
           "--proc", "/proc", "--dev", "/dev",
           *_system_binds(), *_python_binds(),
           "--bind", str(private / "home"), HOME,
           "--bind", runtime, runtime,
           "--bind", str(private / "work"), cwd, "--chdir", cwd,
           "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
           "--hostname", "sandbox", "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    cmd += [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file, *kernel_args]
    return cmd


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] != "-f":
        raise SystemExit("usage: sandbox.py -f CONNECTION_FILE [kernel arguments]")
    connection_file, rest = argv[1], argv[2:]
    cmd = command(connection_file, rest, os.getcwd())
    _set_limits(_limits(), Path(connection_file).stem)
    _die_with_parent()
    os.execv(cmd[0], cmd)


def _die_with_parent() -> None:
    """SIGKILL this process (bwrap, after the exec) when the nbgrader process that started it
    dies: bwrap's own --die-with-parent then takes the sandbox down with it. Without this, a
    killed nbgrader leaves bwrap holding its output pipe open (Linux only)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL (kept across execve)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() == 1:  # the parent died before the call above
        os._exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])


def _cgroup_dirs(scratch: Path) -> list[Path]:
    """The pids cgroups of one round (named after its scratch folder)."""
    return [p for parent in CGROUP_PARENTS
            for p in (Path(parent) / "curvature-lab").glob(f"{scratch.name}--*") if p.is_dir()]


def leftover_processes(scratch: Path) -> list[str]:
    """Kill what is still running from a round's sandboxes; returns what was found.

    Nothing should be: a sandbox has its own PID namespace and dies with its kernel. This is
    the trusted side checking that it did.
    """
    marker = str(scratch)
    found = {}
    for group in _cgroup_dirs(scratch):
        try:
            for pid in (group / "cgroup.procs").read_text().split():
                found[int(pid)] = group.name
        except OSError:
            pass
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found[int(entry)] = cmdline.strip()[:80]
    for pid in found:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    return [f"{pid} ({what})" for pid, what in sorted(found.items())]


def remove_cgroups(scratch: Path) -> None:
    """Remove the empty pids cgroups the round's kernels left (root only)."""
    for group in _cgroup_dirs(scratch):
        try:
            group.rmdir()
        except OSError:
            pass
