import pytest

from rag.retrieval import fuse_minmax, fuse_rrf, fuse_zscore, minmax, zscore


def test_minmax_scales_to_unit_interval():
    assert minmax({"a": 2.0, "b": 4.0, "c": 3.0}) == {"a": 0.0, "b": 1.0, "c": 0.5}
    assert minmax({"a": 5.0}) == {"a": 1.0}
    assert minmax({}) == {}


def test_minmax_fusion_weights_and_missing_scores():
    dense = {"a": 0.9, "b": 0.5}
    lexical = {"b": 10.0, "c": 2.0}
    fused = fuse_minmax(dense, lexical, dense_weight=0.25)
    assert fused["a"] == pytest.approx(0.25)  # dense 1.0, absent from lexical
    assert fused["b"] == pytest.approx(0.75)  # dense 0.0, lexical 1.0
    assert fused["c"] == pytest.approx(0.0)


def test_rrf_rewards_agreement():
    fused = fuse_rrf({"a": 3, "b": 2, "c": 1}, {"b": 9, "a": 1}, k=60)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["c"] == pytest.approx(1 / 63)


def test_zscore_standardises_and_reports_the_floor():
    normed, floor = zscore({"a": 1.0, "b": 3.0, "c": 5.0})  # mean 3, population sd sqrt(8/3)
    sd = (8 / 3) ** 0.5
    assert normed == pytest.approx({"a": -2 / sd, "b": 0.0, "c": 2 / sd})
    assert floor == pytest.approx(-2 / sd)
    assert zscore({"a": 2.0}) == ({"a": 0.0}, 0.0)  # one score: no spread, no division by zero
    assert zscore({}) == ({}, 0.0)


def test_zscore_fusion_by_hand():
    dense = {"a": 3.0, "b": 1.0}  # z: a=+1, b=-1
    lexical = {"b": 10.0, "c": 20.0}  # z: b=-1, c=+1
    # missing scores count as the list's minimum z (-1)
    assert fuse_zscore(dense, lexical, 0.5) == pytest.approx({"a": 0.0, "b": -1.0, "c": 0.0})
    # the weight tilts towards dense: a (dense only) now beats c (lexical only)
    weighted = fuse_zscore(dense, lexical, 0.75)
    assert weighted["a"] == pytest.approx(0.75 - 0.25) and weighted["c"] == pytest.approx(-0.75 + 0.25)

