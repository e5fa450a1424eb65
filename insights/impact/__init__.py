"""Impact of a launch: what the metric would have been without it, and whether the gap is more than noise.

From a cube::

    from insights.impact import estimate_impact
    result = estimate_impact(cube, metric="proactive_rate", treated={"country": ["BR", "MX", "CO"]},
                             launch="2025-06-02", grain="week", filters={"harm_area": "self_harm"})
    result.average, result.p_value, result.series, result.warnings

From a plain panel (units × periods, e.g. a paper's replication file)::

    panel = panel_from_frame(frame, unit="state", time="year", outcome="cigsale", treated="California", launch=1989)
    estimate_panel_impact(panel)

Modules: ``panel`` (forming the panel), ``synthetic`` (weights, predictors, ridge augmentation),
``inference`` (conformal intervals), ``bsts`` (local level + regression check), ``did`` (staggered
difference-in-differences), ``estimate`` (the single-launch estimate, placebos, warnings),
``launch`` (the cube entry point), ``result`` (what is returned).
"""

from insights.impact.did import StaggeredEstimate, staggered_did
from insights.impact.estimate import estimate_panel_impact
from insights.impact.launch import estimate_impact
from insights.impact.panel import Panel, Predictor, panel_from_cube, panel_from_frame
from insights.impact.result import Effect, ImpactEstimate, PlaceboInSpace, PlaceboInTime, PreFit

__all__ = [
    "Effect",
    "ImpactEstimate",
    "Panel",
    "PlaceboInSpace",
    "PlaceboInTime",
    "PreFit",
    "Predictor",
    "StaggeredEstimate",
    "estimate_impact",
    "estimate_panel_impact",
    "panel_from_cube",
    "panel_from_frame",
    "staggered_did",
]
