"""The reference the transmission coherence tests share."""
import math

import pytest
import torch


def _coherence_brute_force(prob, trans, centre, valid, kernel_size, sigma_xy,
                           sigma_trans, kernel_weight):
    """Eq. 7 and its gradient by a double loop over pixels (Python floats).

    Returns ``(sum_m sum_n c(m) W(m, n) |p(m) - p(n)|, d sum / d p)``; pairs
    with a pixel outside the image or with ``valid == 0`` are skipped.
    """
    n_img, c, h, w = prob.shape
    r = kernel_size // 2
    p = prob.tolist()
    t = trans[:, 0].tolist()
    cw = centre[:, 0].tolist()
    ok = [[[True] * w for _ in range(h)] for _ in range(n_img)] \
        if valid is None else (valid[:, 0] > 0).tolist()
    total = 0.0
    grad = [[[[0.0] * w for _ in range(h)] for _ in range(c)]
            for _ in range(n_img)]
    for b in range(n_img):
        for i in range(h):
            for j in range(w):
                if not ok[b][i][j]:
                    continue
                for di in range(-r, r + 1):
                    for dj in range(-r, r + 1):
                        y, x = i + di, j + dj
                        if (di, dj) == (0,
                                        0) or not (0 <= y < h and 0 <= x < w):
                            continue
                        if not ok[b][y][x]:
                            continue
                        kern = kernel_weight * math.exp(
                            -(di * di + dj * dj) / (2 * sigma_xy**2) -
                            (t[b][i][j] - t[b][y][x])**2 /
                            (2 * sigma_trans**2))
                        for k in range(c):
                            d = p[b][k][i][j] - p[b][k][y][x]
                            total += cw[b][i][j] * kern * abs(d)
                            # m = (i, j) appears in the pair as centre
                            # (weight c(m)) and as neighbour of n (c(n)).
                            sgn = (d > 0) - (d < 0)
                            grad[b][k][i][j] += kern * (cw[b][i][j] +
                                                        cw[b][y][x]) * sgn
    return total, torch.tensor(grad, dtype=prob.dtype)


@pytest.fixture(scope='session')
def coherence_brute_force():
    """Eq. 7 of the transmission coherence loss and its gradient by a double
    loop over pixels (see ``_coherence_brute_force``)."""
    return _coherence_brute_force
