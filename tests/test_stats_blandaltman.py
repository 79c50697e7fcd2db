"""Bland-Altman precision: the 1986 paper's worked example and scipy on random data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from calib.stats import BlandAltmanResult, bland_altman

from tests.test_stats_bias import MINI_WRIGHT, WRIGHT


def test_precision_of_the_limits_bland_altman_1986():
    """Bland & Altman (1986), Lancet i:307-310, "Precision of estimated limits of agreement"
    (p. 309), PEFR data of Table 1: bias -2.1, SE 9.4, 95% CI -22.0 to 17.8; with 2 SD the
    limits -79.7 and 75.5, SE 16.3, t(16) = 2.12, 95% CIs -114.3 to -45.1 and 40.9 to 110.1.
    The paper rounds d and s to one decimal first, so the limits' CIs agree to 0.2."""
    r = bland_altman(WRIGHT, MINI_WRIGHT, multiplier=2)
    assert isinstance(r, BlandAltmanResult) and r.multiplier == 2.0
    assert r.bias_se == pytest.approx(9.4, abs=0.05)
    assert (r.ci_low, r.ci_high) == pytest.approx((-22.0, 17.8), abs=0.05)
    assert (r.loa_low, r.loa_high) == pytest.approx((-79.7, 75.5), abs=0.1)
    assert r.loa_se == pytest.approx(16.3, abs=0.05)
    assert (r.loa_low_ci_low, r.loa_low_ci_high) == pytest.approx((-114.3, -45.1), abs=0.2)
    assert (r.loa_high_ci_low, r.loa_high_ci_high) == pytest.approx((40.9, 110.1), abs=0.2)


def test_default_multiplier_is_the_normal_quantile():
    r = bland_altman(WRIGHT, MINI_WRIGHT)
    assert r.multiplier == pytest.approx(1.959963984540054)
    assert (r.loa_low, r.loa_high) == pytest.approx((-78.10, 73.86), abs=0.01)
    wider = bland_altman(WRIGHT, MINI_WRIGHT, confidence=0.99)
    assert wider.multiplier == pytest.approx(2.5758293035489)


@pytest.mark.parametrize("seed", range(6))
def test_bias_interval_is_scipys_one_sample_t_interval(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(70, 8, int(rng.integers(3, 40)))
    b = a + rng.normal(1.5, 4, a.size)
    r = bland_altman(a, b, confidence=0.9)
    expected = sps.ttest_1samp(a - b, 0.0).confidence_interval(0.9)
    assert (r.ci_low, r.ci_high) == pytest.approx((expected.low, expected.high), rel=1e-12)
    t = sps.t.ppf(0.95, a.size - 1)
    assert r.loa_low_ci_high - r.loa_low_ci_low == pytest.approx(2 * t * r.loa_se)


@pytest.mark.parametrize("multiplier", [0, -1.96, float("nan"), "2"])
def test_bad_multiplier_is_refused(multiplier):
    with pytest.raises(ValueError, match="multiplier must be"):
        bland_altman(WRIGHT, MINI_WRIGHT, multiplier=multiplier)
