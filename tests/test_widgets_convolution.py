"""Lecture 6's widgets and plot functions."""

import numpy as np
import pytest

from nnutils.data import load_digits
from nnutils.widgets import convolution as cv


def test_conv_by_hand_matches_the_definition_and_explains_each_output():
    x = np.arange(16.0).reshape(4, 4)
    k = np.array([[1.0, 0.0], [0.0, -1.0]])
    out, lines = cv.conv_by_hand(x, k)
    assert out.shape == (3, 3) and np.all(out == -5.0)     # x[i,j] - x[i+1,j+1] = -5
    assert len(lines) == 9 and lines[0] == "out[0,0] = 0·1 + 5·-1 = -5"
    with pytest.raises(ValueError, match="at least as large"):
        cv.conv_by_hand(np.ones((2, 2)), np.ones((3, 3)))


@pytest.mark.parametrize("name", list(cv.FILTERS))
def test_filters_do_what_their_names_say(name):
    image = np.zeros((8, 8))
    image[:, 4:] = 1.0                                     # a vertical edge between columns 3, 4
    out = cv.apply_filter(image, cv.FILTERS[name])
    inner = out[1:-1, 1:-1]
    if name == "identity":
        np.testing.assert_allclose(out, image)
    elif "blur" in name:
        assert 0 < out[3, 3] < 1 and 0 < out[3, 4] < 1     # the edge is smeared
    elif name.startswith("vertical"):
        assert np.all(inner[:, 2:4] > 0) and np.allclose(inner[:, [0, 5]], 0)
    elif name.startswith("horizontal"):
        np.testing.assert_allclose(inner, 0, atol=1e-12)   # no horizontal edge to find
    else:                                                  # sharpen, Laplacian: respond at the edge
        assert np.abs(inner[:, 2:4]).min() > 0.5 and np.allclose(inner[:, 0], inner[0, 0])


def test_filter_app_presets_entries_and_digit():
    images = load_digits(flatten=False, normalize=False).X_train[:5, 0]
    app = cv.make_filter_app(images)
    first = app.panel.widget.value
    app.controls["preset"].value = "box blur"
    assert app.controls["k11"].value == pytest.approx(1 / 9) and app.panel.widget.value != first
    draws = app.panel.draws
    app.controls["k11"].value = 3.0
    assert app.controls["preset"].value == "custom" and app.panel.draws == draws + 1
    app.controls["digit"].value = 4
    assert app.panel.draws == draws + 2 and app.panel.error == ""


@pytest.mark.parametrize("size, kernel, stride, pad, expected",
                         [(8, 3, 1, 1, 8), (8, 3, 1, 0, 6), (7, 3, 2, 1, 4), (227, 11, 4, 0, 55),
                          (5, 5, 1, 0, 1)])
def test_output_size_formula(size, kernel, stride, pad, expected):
    assert cv.output_size(size, kernel, stride, pad) == expected


def test_output_size_refuses_a_kernel_that_does_not_fit():
    with pytest.raises(ValueError, match="does not fit"):
        cv.output_size(3, 7, 1, 1)


def test_window_app_clamps_the_position_and_reports_impossible_settings():
    app = cv.make_window_app(size=7, kernel=3, stride=2, pad=1)
    assert app.controls["position"].max == 15
    before = app.panel.widget.value
    app.controls["position"].value = 5
    assert app.panel.widget.value != before
    app.controls["kernel"].value = 7                      # (7 - 7 + 2) / 2 + 1 = 2
    assert app.controls["position"].max == 3 and app.controls["position"].value == 3
    draws = app.panel.draws
    app.controls["size"].value = 3                        # 7 > 3 + 2·1: cannot fit
    assert "does not fit" in app.note.value and app.panel.draws == draws
    fig = cv.draw_window(7, 3, 2, 1, 5)
    assert "= 4" in fig._suptitle.get_text() and "cell (1, 1)" in fig.axes[1].get_title()


def test_shift_images_moves_content_and_fills_zeros():
    img = np.arange(9.0).reshape(1, 3, 3)
    np.testing.assert_array_equal(cv.shift_images(img, 1)[0], [[0, 0, 1], [0, 3, 4], [0, 6, 7]])
    np.testing.assert_array_equal(cv.shift_images(img, -1, 1)[0], [[0, 0, 0], [1, 2, 0], [4, 5, 0]])
    assert not cv.shift_images(img, 3).any()


def test_accuracy_under_shift_and_imagenet_plot():
    images = np.zeros((4, 8, 8))
    labels = np.array([0, 0, 1, 1])
    images[2:, :, :2] = 1.0                                # class 1: ink in the first columns

    def predict(X):
        return (X[:, :, :2].sum(axis=(1, 2)) > 0).astype(int)

    accs = cv.accuracy_under_shift(predict, images, labels, [0, 2], lambda s: s)
    assert accs == [1.0, 0.5]
    fig = cv.plot_shift_accuracy([0, 2], {"toy": accs})
    assert fig.axes[0].get_xlabel().startswith("shift")
    ax = cv.plot_imagenet_errors().axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "AlexNet (2012)"
    assert cv.IMAGENET_TOP5["AlexNet (2012)"] == 18.2
