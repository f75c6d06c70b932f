"""tools/misc/contact_sheet.py and the two contact-sheet scripts using it
(``synthetic_contact_sheet.py``, ``overlay_contact_sheet.py``) on tiny
inputs."""
import re

import cv2
import numpy as np
import pytest


@pytest.fixture(scope='module')
def cs(load_tool):
    return load_tool('tools/misc/contact_sheet.py', 'contact_sheet_tool')


def test_hcat_vcat_gaps_and_padding(cs):
    a = np.zeros((4, 3, 3), np.uint8)
    b = np.zeros((4, 5, 3), np.uint8)
    row = cs.hcat([a, b], 2)
    assert row.shape == (4, 3 + 2 + 5, 3)
    assert (row[:, 3:5] == 255).all() and (row[:, :3] == 0).all()
    col = cs.vcat([a, b], 1)
    assert col.shape == (4 + 1 + 4, 5, 3)
    assert (col[4] == 255).all()  # the gap
    assert (col[:4, 3:] == 255).all()  # the narrow panel padded on the right
    assert (col[5:] == 0).all()
    framed = cs.frame(np.zeros((5, 6, 3), np.uint8))
    assert (framed[0] == 110).all() and (framed[:, -1] == 110).all()
    assert (framed[1:-1, 1:-1] == 0).all()
    assert cs.add_border(framed, 2).shape == (9, 10, 3)


def test_write_below_lowers_until_small_enough(cs, tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    path = str(tmp_path / 'x.jpg')
    tried = []

    def render(quality):
        tried.append(quality)
        return img, [cv2.IMWRITE_JPEG_QUALITY, quality]

    full = cs.write_image(path, img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    quality, out, kb = cs.write_below(
        path, full * 0.7, 95, lowest=40, lower=lambda q: q - 5, render=render)
    assert out is img
    assert tried[0] == 95 and tried[-1] == quality
    assert all(a - b == 5 for a, b in zip(tried, tried[1:]))
    assert kb <= full * 0.7 or quality <= 40
    # the floor stops the loop
    quality, _, _ = cs.write_below(
        path, 0, 60, lowest=50, lower=lambda q: q - 5, render=render)
    assert quality == 50
    with pytest.raises(OSError, match='could not write'):
        cs.write_image(str(tmp_path / 'missing' / 'x.png'), img)


def test_synthetic_contact_sheet(run_tool, tmp_path):
    out = tmp_path / 'sheets' / 'synthetic.jpg'
    run = run_tool('tools/misc/synthetic_contact_sheet.py', '--out', out,
                   '--size', 64, 64, '--per-row', 1, '--panel', 64, '--max-kb',
                   1)
    assert re.fullmatch(
        rf'wrote {re.escape(str(out))}: \d+x\d+, JPEG quality 38, \d+ KB\n',
        run.stdout), run.stdout
    sheet = cv2.imread(str(out))
    assert sheet is not None and sheet.shape[1] > 64


def test_overlay_contact_sheet(run_tool, tmp_path):
    root = tmp_path / 'SMOKE5K'
    (root / 'train' / 'img').mkdir(parents=True)
    (root / 'train' / 'gt').mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        img = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
        gt = np.zeros((60, 80), np.uint8)
        gt[10:30, 20:50] = 255
        cv2.imwrite(str(root / 'train' / 'img' / f'{i}.jpg'), img)
        cv2.imwrite(str(root / 'train' / 'gt' / f'{i}.png'), gt)
    out = tmp_path / 'overlay.png'
    run = run_tool('tools/misc/overlay_contact_sheet.py', '--data-root', root,
                   '--out', out, '--num', 2, '--panel', 120, '--max-kb', 1)
    # --max-kb 1 is out of reach: 120, 108, 97, then 87 px (<= 96) stops.
    assert re.fullmatch(
        rf'wrote {re.escape(str(out))}: \d+x\d+, panels 87 px wide, '
        r'\d+ KB, 2 images\n', run.stdout), run.stdout
    assert cv2.imread(str(out)) is not None
