"""The Turing test: its statistics, its widgets driven by scripted clicks, and the notebook."""

import re
import time
from pathlib import Path

import cv2
import nbformat
import numpy as np
import pytest
from helpers import CHROMIUM, CHROMIUM_ARGS, NO_CHROMIUM, SHARED_DATASETS, TINY_UNET, read_csv_rows, smooth_photo

from colorkit import presets
from colorkit.turing import CSV_COLUMNS, TuringTest, describe, fooling_rate

independent = pytest.mark.backend_independent(home="torch")  # the shortest pass


def make_pairs(count, seed=0):
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(count):
        real = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
        pairs.append((f"photo{i}.jpg", real, 255 - real))
    return pairs


def png_pixels(data):
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]


@independent
def test_fooling_rate_and_bootstrap_error(tmp_path):
    answers = [{"correct": c} for c in [False] * 3 + [True] * 7]
    rate, se, n = fooling_rate(answers, n_boot=20_000, seed=1)
    assert (rate, n) == (0.3, 10)  # fooled in the 3 trials answered wrongly
    # The bootstrap mean of n resampled trials is Binomial(n, p) / n: its SE is sqrt(p (1 - p) / n)
    # (0.1449), which 20,000 resamples estimate within about 0.5 %, whatever the seed.
    for seed in (1, 2):
        assert fooling_rate(answers, n_boot=20_000, seed=seed)[1] == pytest.approx(np.sqrt(0.3 * 0.7 / 10), rel=0.02)
    # Two trials, one fooled: resampled means 0, 1/2, 1 with chances 1/4, 1/2, 1/4, so SE sqrt(1/8).
    assert fooling_rate([{"correct": True}, {"correct": False}], n_boot=20_000)[1] == pytest.approx(
        np.sqrt(1 / 8), rel=0.02)
    # Seeded: the same seed resamples alike, another seed otherwise.
    assert fooling_rate(answers, seed=1)[1] == fooling_rate(answers, seed=1)[1] != fooling_rate(answers, seed=2)[1]
    # One trial, or all answered alike: every resample is the same, no spread.
    assert fooling_rate([{"correct": False}]) == (1.0, 0.0, 1)
    assert fooling_rate([{"correct": True}] * 4) == (0.0, 0.0, 4)
    assert np.isnan(fooling_rate(answers, n_boot=1)[1])
    rate, se, n = fooling_rate([])
    assert np.isnan(rate) and np.isnan(se) and n == 0
    assert describe(rate, se, n) == "no trials answered yet"
    assert describe(0.3, 0.1449, 10) == "fooling rate 30.0 % +- 14.5 % (bootstrap SE), 10 trials"
    # `correct` as a CSV (strings) and a DataFrame give the same counts as booleans.
    csv_path = tmp_path / "answers.csv"
    csv_path.write_text("trial,correct\n" + "".join(f"{i},{a['correct']}\n" for i, a in enumerate(answers)))
    import pandas as pd

    for source in (csv_path, pd.read_csv(csv_path), [{"correct": str(int(a["correct"]))} for a in answers]):
        assert fooling_rate(source, seed=1)[::2] == (0.3, 10)


@independent
def test_scripted_clicks_write_the_csv(tmp_path):
    ticks = iter(range(100))
    csv_path = tmp_path / "run" / "turing.csv"
    test = TuringTest(make_pairs(5), csv_path, n_trials=4, seed=3, clock=lambda: float(next(ticks)))
    assert "Trial 1 of 4" in test.title.value and set(test.buttons) == {"left", "right"}
    real_sides = [side for _, side in test.trials]
    names = [pair[0] for pair, _ in test.trials]
    # The real photo is on its side: the colorized one (here the negative) on the other.
    (_, real, fake), side = test.trials[0]
    other = "right" if side == "left" else "left"
    assert np.array_equal(png_pixels(test.images[side].value), real)
    assert np.array_equal(png_pixels(test.images[other].value), fake)

    clicks = ["left", "left", "right", "left"]
    for i, side in enumerate(clicks[:3]):
        test.buttons[side].click()
        assert len(read_csv_rows(csv_path)) == i + 1  # saved after every click
    assert "Trial 4 of 4" in test.title.value
    test.choose(clicks[3])
    assert test.done and all(b.disabled for b in test.buttons.values())
    test.buttons["left"].click()  # ignored once done
    rows = read_csv_rows(csv_path)
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 4
    assert [r["chosen_side"] for r in rows] == clicks
    assert [r["real_side"] for r in rows] == real_sides and [r["image"] for r in rows] == names
    assert [r["trial"] for r in rows] == ["1", "2", "3", "4"]
    assert [r["correct"] == "True" for r in rows] == [c == r for c, r in zip(clicks, real_sides)]
    assert all(float(r["seconds"]) == 1.0 for r in rows)  # one tick between showing and clicking
    rate, se, n = fooling_rate(csv_path)
    assert n == 4 and rate == np.mean([c != r for c, r in zip(clicks, real_sides)])
    assert describe(rate, se, n) in test.status.value


@independent
def test_order_is_seeded(tmp_path):
    first = TuringTest(make_pairs(6), tmp_path / "a.csv", seed=7)
    again = TuringTest(make_pairs(6), tmp_path / "b.csv", seed=7)
    other = TuringTest(make_pairs(6), tmp_path / "c.csv", seed=8)
    key = [(pair[0], side) for pair, side in first.trials]
    assert key == [(pair[0], side) for pair, side in again.trials]
    assert key != [(pair[0], side) for pair, side in other.trials]
    assert sorted(name for name, _ in key) == [f"photo{i}.jpg" for i in range(6)]
    with pytest.raises(ValueError, match="side"):
        first.choose("middle")
    with pytest.raises(ValueError, match="at least one"):
        TuringTest([], tmp_path / "d.csv")


@independent
def test_time_limit_hides_the_pair(tmp_path):
    test = TuringTest(make_pairs(2), tmp_path / "t.csv", time_limit=0.2)
    assert all(img.layout.visibility == "visible" for img in test.images.values())
    deadline = time.monotonic() + 5
    while test.images["left"].layout.visibility != "hidden" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(img.layout.visibility == "hidden" for img in test.images.values())
    assert "Time is up" in test.status.value
    test.choose("left")  # answers still count, and the next pair shows again
    assert all(img.layout.visibility == "visible" for img in test.images.values())
    assert len(read_csv_rows(tmp_path / "t.csv")) == 1


# With a real (untrained, tiny) generator: the pairs, then the notebook as a person uses it.

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "turing_test.ipynb"


@pytest.fixture
def run_folder(tmp_path):
    """<tmp>/outputs/run/generator.keras and a folder of four colour photos."""
    from colorkit.models import UNetGenerator

    run = tmp_path / "outputs" / "run"
    run.mkdir(parents=True)
    UNetGenerator(32, **TINY_UNET).save(run / "generator.keras")
    photos = tmp_path / "photos"
    photos.mkdir()
    flowers = sorted((SHARED_DATASETS / "flowers102" / "jpg").glob("image_0000*.jpg"))[:4]
    for i in range(4):
        if len(flowers) == 4:
            img = cv2.imread(str(flowers[i]))
        else:
            img = smooth_photo(120, 160, seed=i)
        cv2.imwrite(str(photos / f"p{i}.png"), img)
    return run, photos


def test_pairs_from_a_real_generator(run_folder):
    from colorkit.presets import load_generator
    from colorkit.turing import build_pairs

    run, photos = run_folder
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    pairs = build_pairs(load_generator(run / "generator.keras"), sorted(photos.iterdir()), display_size=64)
    assert [name for name, _, _ in pairs] == [f"p{i}.png" for i in range(4)]  # the broken file is left out
    for _, real, colorized in pairs:
        assert max(real.shape[:2]) == 64 and colorized.shape == real.shape and colorized.dtype == np.uint8


@independent
def test_notebook_without_a_model_uses_the_default_preset(tmp_path):
    import papermill

    out = tmp_path / "turing.out.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), kernel_name="python3", cwd=str(tmp_path),
                               progress_bar=False)
    text = "".join(o.get("text", "") for cell in nbformat.read(out, as_version=4).cells
                   for o in cell.get("outputs", []))
    assert f"model: {presets.DEFAULT}" in text and f"answers go to outputs/turing/{presets.DEFAULT}_" in text


SCREENSHOT = Path("/tmp/turing_screenshot.png")


# The browser, the server and the widgets do not depend on the Keras backend: run once.
@independent
@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)
def test_a_person_clicks_through_the_notebook_in_jupyterlab(run_folder, tmp_path, jupyter_lab):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    import papermill

    run, photos = run_folder
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "turing.ipynb"), prepare_only=True,
                               parameters={"images_dir": str(photos), "n_trials": 3, "seed": 5,
                                           "model_path": str(run / "generator.keras")},
                               kernel_name="python3")
    url, token = jupyter_lab
    clicks = ["left", "right", "left"]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(90_000)
            page.goto(f"{url}/lab/tree/turing.ipynb?token={token}")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for()
            page.get_by_text(re.compile(r"^Python 3.* \| Idle$")).wait_for()  # the kernel is up, whatever its name
            page.locator(".lm-MenuBar-item", has_text="Run").first.click()
            page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
            buttons = {side: page.get_by_role("button", name=f"{side.capitalize()} is real")
                       for side in ("left", "right")}
            page.get_by_text("Trial 1 of 3").wait_for()
            buttons["left"].scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOT))
            for i, side in enumerate(clicks):
                buttons[side].click()
                page.get_by_text(f"Trial {i + 2} of 3" if i < 2 else "Done, thank you.").wait_for()
            page.get_by_text("(bootstrap SE)").wait_for()  # the result, shown in the widget
        finally:
            browser.close()
    saved = list((tmp_path / "outputs" / "turing").glob("generator_*.csv"))
    assert len(saved) == 1
    rows = read_csv_rows(saved[0])
    assert [r["chosen_side"] for r in rows] == clicks and [r["trial"] for r in rows] == ["1", "2", "3"]
    assert {r["image"] for r in rows} <= {f"p{i}.png" for i in range(4)}
    assert all(float(r["seconds"]) > 0 for r in rows)
    assert all((r["correct"] == "True") == (r["real_side"] == r["chosen_side"]) for r in rows)
