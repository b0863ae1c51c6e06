"""Interactive demos: each a live widget in JupyterLab and a static animation on the site.

A chapter shows a demo in one line, ``demos.condition_race()``; see :mod:`._base` for how
the live and the static forms are chosen, and :data:`DEMOS` (:mod:`._registry`) for the one
list of demos, each with its chapter. Imports matplotlib and ipywidgets, so
``import hessian_lab`` does not import this package.
"""

from .. import plotting  # noqa: F401  (first: says which extra to install if matplotlib is missing)
from ._base import LIVE_ENV, Demo
from ._registry import DEMOS, DemoEntry
from .explorer import PRESETS, HessianExplorer, hessian_explorer
from .memory import M_SWEEP, QuasiNewtonMemory, quasi_newton_memory
from .race import ConditionRace, condition_race, measured_rate
from .saddle import SaddleAndSharpness, saddle_and_sharpness
from .stepper import STEPPER_PROBLEMS, NewtonStepper, newton_stepper
from .surface import SURFACE_PROBLEMS, SurfaceModel, surface_model
from .trust import TRUST_SOLVERS, TRUST_STARTS, TrustRegionStep, trust_region_step

__all__ = [
    "DEMOS",
    "DemoEntry",
    "Demo",
    "LIVE_ENV",
    "PRESETS",
    "HessianExplorer",
    "hessian_explorer",
    "ConditionRace",
    "condition_race",
    "measured_rate",
    "STEPPER_PROBLEMS",
    "NewtonStepper",
    "newton_stepper",
    "SaddleAndSharpness",
    "saddle_and_sharpness",
    "M_SWEEP",
    "QuasiNewtonMemory",
    "quasi_newton_memory",
    "SURFACE_PROBLEMS",
    "SurfaceModel",
    "surface_model",
    "TRUST_SOLVERS",
    "TRUST_STARTS",
    "TrustRegionStep",
    "trust_region_step",
]
