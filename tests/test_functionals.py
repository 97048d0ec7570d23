"""ser.functionals: the statistics match their definitions on contours with known answers."""

import numpy as np

from ser import functionals


def test_pooled_statistics_match_their_definitions():
    rng = np.random.default_rng(0)
    rows = rng.gamma(2.0, size=(3, 500))
    names = ("mean", "std", "p10", "p90", "slope", "skew", "kurtosis", "range", "iqr")
    stats = dict(functionals.pooled("x", rows, names))
    np.testing.assert_allclose(stats["x_mean"], rows.mean(axis=1))
    np.testing.assert_allclose(stats["x_p90"], np.percentile(rows, 90, axis=1))
    np.testing.assert_allclose(stats["x_range"], np.ptp(np.percentile(rows, [1, 99], axis=1), axis=0))
    np.testing.assert_allclose(stats["x_iqr"], np.ptp(np.percentile(rows, [25, 75], axis=1), axis=0))
    centred = (rows - rows.mean(axis=1, keepdims=True)) / rows.std(axis=1, keepdims=True)
    np.testing.assert_allclose(stats["x_skew"], (centred ** 3).mean(axis=1))  # gamma(2): skew ~1.4 > 0
    np.testing.assert_allclose(stats["x_kurtosis"], (centred ** 4).mean(axis=1) - 3)  # excess: 3 for gamma(2)
    assert (stats["x_skew"] > 1).all() and (stats["x_kurtosis"] > 1).all()
    ramp = dict(functionals.pooled("r", np.linspace(-3, 3, 50), ("slope",)))
    np.testing.assert_allclose(ramp["r_slope"], [3.0])
    empty = dict(functionals.pooled("e", np.zeros((2, 0)), ("mean", "std", "p50", "skew")))  # e.g. no voiced frame
    assert all(np.isfinite(v).all() and v.shape == (2,) for v in empty.values())


def test_contour_shape_matches_its_definitions():
    frames_per_second = 100.0
    t = np.arange(300) / frames_per_second  # 3 s
    contours = np.stack([np.linspace(0, 1, 300),  # rising ramp
                         np.sin(2 * np.pi * 2.0 * t),  # 2 peaks per second, 0.5 s apart
                         (t - 1.5) ** 2])  # valley in the middle: positive curvature
    shape = dict(functionals.contour_shape("c", contours, frames_per_second))
    assert set(shape) == {f"c_{stat}" for stat in functionals.CONTOUR_SHAPE}
    ramp, sine, valley = (dict(zip(functionals.CONTOUR_SHAPE, row))
                          for row in np.stack([shape[f"c_{stat}"] for stat in functionals.CONTOUR_SHAPE], axis=1))
    assert ramp["max_position"] > 0.99 and ramp["min_position"] == 0 and ramp["rising"] > 0.99
    np.testing.assert_allclose([ramp[f"up{q}"] for q in (25, 50, 75, 90)], [0.75, 0.5, 0.25, 0.1], atol=0.02)
    assert abs(ramp["curvature"]) < 1e-9 and ramp["fit_error"] < 1e-9 and ramp["peaks_per_second"] == 0
    np.testing.assert_allclose(ramp["rise_slope"], 1 / 299)
    np.testing.assert_allclose([sine["peaks_per_second"], sine["peak_seconds"]], [2.0, 0.5], rtol=0.02)
    assert sine["peak_height"] > 0.4 and sine["fit_error"] > 0.5
    assert valley["curvature"] > 0 and 0.45 < valley["min_position"] < 0.55 and valley["fit_error"] < 1e-9
    flat = np.full((1, 300), -80.0)  # a band cut away (a phone line): its floor, and one frame a little above it
    flat[0, 150] = -79.0
    assert 0 < dict(functionals.contour_shape("f", flat, frames_per_second))["f_peak_height"][0] <= 1
    too_short = dict(functionals.contour_shape("v", np.zeros((1, 3)), frames_per_second))  # e.g. hardly any voicing
    assert all(np.array_equal(value, [0.0]) for value in too_short.values())


def test_thirds_and_modulation_follow_the_contour():
    ramp = np.linspace(0, 3, 300)
    thirds = dict(functionals.thirds("r", ramp))
    np.testing.assert_allclose([thirds[f"r_third{k}"][0] for k in (1, 2, 3)], [-1, 0, 1], atol=0.01)
    frames_per_second = 100.0
    t = np.arange(200) / frames_per_second
    syllables = np.exp(np.stack([np.sin(2 * np.pi * 5 * t), np.sin(2 * np.pi * 1 * t)]))  # 5 Hz and 1 Hz envelopes
    share = dict(functionals.modulation_db("m", syllables, frames_per_second))
    ranges = [f"m_{low:g}_{high:g}hz_db" for low, high in functionals.MODULATION_HZ]
    assert ranges == list(share) and all(share[r].shape == (2,) for r in ranges)
    by_range = np.stack([share[r] for r in ranges], axis=1)  # (bands, ranges)
    assert ranges[by_range[0].argmax()] == "m_4_8hz_db" and ranges[by_range[1].argmax()] == "m_0.5_2hz_db"
    assert by_range.max(axis=1).min() > -1  # the dominant range holds most of the energy


def test_a_flat_band_gets_equal_modulation_shares_whatever_its_rounding_noise():
    """A band held at the spectrum's floor (above a phone line's band) varies by rounding noise only, which
    differs between CPUs: its shares must not follow that noise. A band with a real envelope keeps its own."""
    frames_per_second, t = 100.0, np.arange(200) / 100.0
    floor = np.full(200, 1e-8)
    shares = []
    for seed in (0, 1):
        noise = 1 + 1e-7 * np.random.default_rng(seed).standard_normal(200)
        bands = np.stack([floor * noise, np.exp(np.sin(2 * np.pi * 5 * t))])
        shares.append(np.stack([v for _, v in functionals.modulation_db("m", bands, frames_per_second)], axis=1))
    np.testing.assert_allclose(shares[0][0], 10 * np.log10(1 / len(functionals.MODULATION_HZ)), atol=1e-9)
    np.testing.assert_array_equal(shares[0][0], shares[1][0])
    assert shares[0][1].argmax() == 2  # 4-8 Hz: the modulated band is left as it was
