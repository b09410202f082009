"""Lecture 7's widgets and plot functions."""

import numpy as np
import pytest

from nnutils.data import CharVocab
from nnutils.models import CharRNN
from nnutils.widgets import sequences as sq


def test_unrolled_drawing_has_one_box_per_step():
    fig = sq.draw_unrolled(T=3)
    texts = {t.get_text() for t in fig.axes[1].texts}
    assert {"h1", "h2", "h3", "x3", "y3", "h0"} <= texts and "h4" not in texts
    with pytest.raises(ValueError):
        sq.draw_unrolled(T=0)


@pytest.mark.parametrize("scale, verdict", [(0.6, "vanishes"), (1.0, "survives"),
                                            (1.4, "explodes")])
def test_gradient_over_time_follows_the_scale_for_a_linear_rnn(scale, verdict):
    fig = sq.draw_gradient_over_time(scale, "linear", T=40)
    ax = fig.axes[0]
    assert verdict in ax.get_title()
    measured, law = ax.get_lines()[0].get_ydata(), ax.get_lines()[1].get_ydata()
    np.testing.assert_allclose(measured, law, atol=1e-8)      # linear: exactly scale^(T-1-t)


def test_tanh_shrinks_the_gradient_below_the_power_law():
    ax = sq.draw_gradient_over_time(1.0, "tanh", T=40).axes[0]
    assert ax.get_lines()[0].get_ydata()[0] < -0.5           # below 10^-0.5 after 39 steps


def test_vanishing_app_redraws_on_scale_and_activation():
    app = sq.make_vanishing_app()
    first = app.panel.widget.value
    app.controls["scale"].value = 1.3
    second = app.panel.widget.value
    app.controls["activation"].value = "relu"
    assert first != second != app.panel.widget.value and app.panel.error == ""


def test_windows_pair_each_character_with_the_next():
    X, Y = sq.windows(np.arange(11), 3)
    np.testing.assert_array_equal(X, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    np.testing.assert_array_equal(Y, X + 1)
    with pytest.raises(ValueError, match="at least T"):
        sq.windows(np.arange(3), 3)


@pytest.fixture(scope="module")
def tiny_lm():
    vocab = CharVocab("abc ")
    return CharRNN(vocab.size, 8, cell="lstm", rng=np.random.default_rng(0)), vocab


def test_temperature_sharpens_and_flattens_the_distribution(tiny_lm):
    model, vocab = tiny_lm
    cold = sq.next_char_distribution(model, vocab, "ab", 0.2)
    warm = sq.next_char_distribution(model, vocab, "ab", 1.0)
    hot = sq.next_char_distribution(model, vocab, "ab", 5.0)
    assert np.allclose([cold.sum(), warm.sum(), hot.sum()], 1)
    assert cold.max() > warm.max() > hot.max() and cold.argmax() == warm.argmax()
    with pytest.raises(ValueError, match="temperature"):
        sq.next_char_distribution(model, vocab, "ab", 0.0)


def test_sampling_app_changes_text_and_plot(tiny_lm):
    model, vocab = tiny_lm
    twin = CharRNN(vocab.size, 8, cell="lstm", rng=np.random.default_rng(1))
    app = sq.make_sampling_app({"one": model, "two": twin}, vocab, prompt="ab", length=40)
    text, picture = app.text.value, app.panel.widget.value
    app.controls["again"].click()
    assert app.state["seed"] == 1 and app.text.value != text
    app.controls["temperature"].value = 0.3
    assert app.panel.widget.value != picture
    app.controls["model"].value = "one"
    assert "ab" in app.text.value and app.panel.error == ""
