"""decomposition_tree on hand-built cubes: children add up to their node at every level, and
the split goes where the change is."""

from __future__ import annotations

import pytest

from insights.rootcause import decomposition_tree
from tests.rootcause.test_rootcause import BASELINE, COUNTRIES, CURRENT, metric_in, random_cube


@pytest.mark.parametrize("name", ["actions", "proactive_rate"])
def test_tree_children_add_up_to_their_node_at_every_level(name):
    cube = random_cube(seed=7, lift={(("country", "US"), ("detection_source", "trusted_flagger")): 3.0})
    root = decomposition_tree(cube, name, baseline=BASELINE, current=CURRENT)
    assert root.segment == {} and root.share == pytest.approx(1.0)
    assert root.contribution == pytest.approx(
        metric_in(cube, name, CURRENT) - metric_in(cube, name, BASELINE), rel=1e-12
    )
    node, level = root, 0
    while node.children:
        assert sum(child.contribution for child in node.children) == pytest.approx(
            node.contribution, rel=1e-9, abs=1e-12
        )
        assert {tuple(c.segment) for c in node.children} == {(*node.segment, node.split_dimension)}
        node = decomposition_tree(cube, name, baseline=BASELINE, current=CURRENT, node=node.children[0].segment)
        level += 1
    assert level == 3 and node.split_dimension is None, "three dimensions, then nothing left to split"


def test_tree_splits_on_the_dimension_that_holds_the_change():
    cube = random_cube(seed=8, lift={(("content_type", "comment"),): 3.0})
    root = decomposition_tree(cube, "actions", baseline=BASELINE, current=CURRENT)
    assert root.split_dimension == "content_type" and root.children[0].segment == {"content_type": "comment"}
    assert root.dimensions["dimension"][0] == "content_type"
    forced = decomposition_tree(cube, "actions", baseline=BASELINE, current=CURRENT, split="country")
    assert forced.split_dimension == "country" and len(forced.children) == len(COUNTRIES)
    with pytest.raises(ValueError, match="cannot split"):
        decomposition_tree(cube, "actions", baseline=BASELINE, current=CURRENT, node={"country": "BR"}, split="country")
