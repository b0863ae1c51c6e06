"""Debian packages for the tests that need them, installed with apt-get as root.

Every install goes through :func:`apt_install`, which holds an exclusive lock for the whole
``apt-get update`` + ``apt-get install``: `make test` runs two pytest-xdist workers, and two
apt-get runs at once would fail on dpkg's lock ("Could not get lock /var/lib/dpkg/lock").
apt-get is also told to wait for a lock held by anything else (an unattended upgrade).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess

LOCK = "/tmp/curvature-lab-apt.lock"
WAIT = ["-o", "DPkg::Lock::Timeout=900"]


def can_install() -> bool:
    return os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get") is not None


def apt_install(packages: list[str], *, recommends: bool = True, timeout: float = 1800,
                done=None) -> subprocess.CompletedProcess:
    """apt-get update and install ``packages`` under the lock; ``done()`` (if given) is asked
    once the lock is held, so a package another worker installed meanwhile is not re-installed.
    Returns the install's CompletedProcess (returncode 0 when nothing was left to do)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done is not None and done():
            return subprocess.CompletedProcess(["apt-get"], 0, "", "")
        subprocess.run(["apt-get", *WAIT, "update", "-qq"], env=env, capture_output=True,
                       text=True, timeout=900)
        extra = [] if recommends else ["--no-install-recommends"]
        return subprocess.run(["apt-get", *WAIT, "install", "-y", "-qq", *extra, *packages],
                              env=env, capture_output=True, text=True, timeout=timeout)
