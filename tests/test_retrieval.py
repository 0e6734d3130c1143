import pytest

from rag.retrieval import fuse_minmax, fuse_rrf, minmax


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
