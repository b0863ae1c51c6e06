"""hessian_lab: the library behind *Curvature Lab*, a book on Hessians and second-order methods.

The numerical core (derivatives, curvature, linesearch, optimizers, cg, trust_region,
spectra, problems, models, rates) needs only numpy, and sympy for the symbolic
functions, which import it when first called, so ``import hessian_lab`` stays fast in a
grading kernel. Plotting and the interactive demos live in :mod:`hessian_lab.plotting`
and :mod:`hessian_lab.demos` and are imported explicitly.
"""

from .cg import *  # noqa: F403
from .curvature import *  # noqa: F403
from .derivatives import *  # noqa: F403
from .linesearch import *  # noqa: F403
from .models import *  # noqa: F403
from .optimizers import *  # noqa: F403
from .problems import *  # noqa: F403
from .rates import *  # noqa: F403
from .spectra import *  # noqa: F403
from .trust_region import *  # noqa: F403

__version__ = "0.1.0"

import sys as _sys

if _sys.platform == "emscripten":  # the site's JupyterLite: see _browser.py
    from ._browser import install as _install

    _install()
    del _install
del _sys
