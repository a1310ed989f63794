"""Procedural renderer behind the embedded `shapes` dataset.

Pure NumPy, no TensorFlow: `render(task, split, size)` returns `(images,
labels)` and is deterministic for a given `GENERATOR_VERSION`. Images are
generated in chunks of `CHUNK` examples, each chunk from its own seeded
generator, so any example depends only on (version, task, split, chunk).

What varies in every image (the nuisance factors the classifier must ignore),
with the constants below that set it:

| parameter  | constant          | value                                          |
|------------|-------------------|------------------------------------------------|
| position   | (derived)         | centre anywhere that keeps ~60% of the shape in |
| scale      | `SCALE_RANGE`     | radius 7-12 pixels (of 32)                     |
| rotation   | `ROTATION_RANGE`  | uniform in +-35 degrees                        |
| aspect     | `ASPECT_RANGE`    | 0.8-1.25 stretch along the shape's own axis    |
| colour     | `MIN_CONTRAST`    | random RGB, >= 0.45 (RGB distance) from the background |
| background | `GRADIENT_STD`    | linear gradient, second colour = first + N(0, 0.2) |
| clutter    | `CLUTTER_RANGE`   | 1-4 segments and blobs, ~30% drawn over the shape |
| distractor | `DISTRACTOR_PROB` | 30%: a small (radius 2.5-4.5) random other shape |
| noise      | `NOISE_RANGE`     | Gaussian, sigma 0.02-0.06 of full scale        |

Calibration (`tools/calibrate_shapes.py`): the reference CNN
(`kerasrec.models.build_cnn` defaults, Adam 1e-3, batch 128, 10 epochs,
20k training images) should land between 80% and 92% test accuracy. Measured
for version 2 on the Keras JAX backend (lent H100): source 80.3%; at +-30
degrees it was 84.8% there but 91.2% on TensorFlow/CPU (RESULTS.md), so the
range was widened to +-35 to keep the CPU run inside the band. Single
10-epoch runs vary by several points (validation accuracy still swings
between epochs). Training on a small subset overfits at once: on 1k
examples the CNN reaches ~70% train accuracy in 30 epochs while test
accuracy stays near chance (12%); the data needs ~300 steps on 20k images
before validation accuracy leaves chance.

Tasks (all 32x32x3 uint8):
- `source`: 10 shape classes (`SOURCE_SHAPES`), solid fill.
- `similar`: 10 *other* shape classes of the same family (`SIMILAR_SHAPES`),
  same rendering: the "similar data" case of transfer learning.
- `different`: 5 classes of fill texture (`TEXTURES`) on a random shape from
  all 20: a different visual property, the "different data" case.
"""

import numpy as np

from kerasrec._checks import ArgumentError

# Bump with ANY change to what the renderer draws: prepared data is stored
# under its version, so a stale copy is never reused (tests pin a fingerprint).
GENERATOR_VERSION = 2
CHUNK = 1000
SIZE = 32
SUPERSAMPLE = 2
SCALE_RANGE = (7.0, 12.0)
ROTATION_RANGE = 35.0  # degrees either way
GRADIENT_STD = 0.2
ASPECT_RANGE = (0.8, 1.25)
MIN_CONTRAST = 0.45
CLUTTER_RANGE = (1, 4)
DISTRACTOR_PROB = 0.3
NOISE_RANGE = (0.02, 0.06)

SOURCE_SHAPES = (
    "circle", "triangle", "square", "pentagon", "star5",
    "plus", "ring", "crescent", "ellipse", "ell",
)
SIMILAR_SHAPES = (
    "hexagon", "star4", "rectangle", "semicircle", "tee",
    "arrow", "heart", "frame", "rhombus", "hourglass",
)
TEXTURES = ("solid", "stripes", "checker", "dots", "outline")
TASKS = {
    "source": SOURCE_SHAPES,
    "similar": SIMILAR_SHAPES,
    "different": TEXTURES,
}
SPLITS = ("train", "validation", "test")


def _regular(n, phase=0.0, radius=1.0):
    a = phase + 2 * np.pi * np.arange(n) / n
    return np.stack([radius * np.cos(a), radius * np.sin(a)], axis=1)


def _star(n, inner):
    a = np.pi / 2 + np.pi * np.arange(2 * n) / n
    r = np.where(np.arange(2 * n) % 2 == 0, 1.0, inner)
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


def _inside_polygon(u, v, vertices):
    """Even-odd rule point-in-polygon test, vectorised over `u, v`."""
    inside = np.zeros(u.shape, dtype=bool)
    x0, y0 = vertices[-1]
    for x1, y1 in vertices:
        crosses = (y0 > v) != (y1 > v)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x0 + (v - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (u < x_at)
        x0, y0 = x1, y1
    return inside


def _poly(vertices):
    vertices = np.asarray(vertices, dtype=np.float64)
    return lambda u, v: _inside_polygon(u, v, vertices)


_SHAPES = {
    "circle": lambda u, v: u * u + v * v <= 1.0,
    "triangle": _poly(_regular(3, np.pi / 2, 1.15)),
    "square": lambda u, v: np.maximum(abs(u), abs(v)) <= 0.8,
    "pentagon": _poly(_regular(5, np.pi / 2)),
    "star5": _poly(_star(5, 0.42)),
    "plus": lambda u, v: ((abs(u) <= 0.3) & (abs(v) <= 1.0))
    | ((abs(v) <= 0.3) & (abs(u) <= 1.0)),
    "ring": lambda u, v: (u * u + v * v <= 1.0) & (u * u + v * v >= 0.36),
    "crescent": lambda u, v: (u * u + v * v <= 1.0)
    & ((u - 0.45) ** 2 + v * v >= 0.64),
    "ellipse": lambda u, v: u * u + (v / 0.5) ** 2 <= 1.0,
    "ell": lambda u, v: ((abs(u + 0.55) <= 0.3) & (abs(v) <= 0.9))
    | ((abs(v - 0.6) <= 0.3) & (u >= -0.85) & (u <= 0.85)),
    "hexagon": _poly(_regular(6)),
    "star4": _poly(_star(4, 0.35)),
    "rectangle": lambda u, v: (abs(u) <= 0.95) & (abs(v) <= 0.45),
    "semicircle": lambda u, v: (u * u + (v + 0.4) ** 2 <= 1.0) & (v >= -0.4),
    "tee": lambda u, v: ((abs(u) <= 0.95) & (v >= 0.45) & (v <= 0.95))
    | ((abs(u) <= 0.25) & (v >= -0.95) & (v <= 0.95)),
    "arrow": _poly(
        [(-0.95, -0.25), (0.2, -0.25), (0.2, -0.65), (0.95, 0.0),
         (0.2, 0.65), (0.2, 0.25), (-0.95, 0.25)]
    ),
    "heart": lambda u, v: (
        (u * 1.15) ** 2 + (v * 1.15 + 0.2) ** 2 - 1.0
    ) ** 3 - (u * 1.15) ** 2 * (v * 1.15 + 0.2) ** 3 <= 0.0,
    "frame": lambda u, v: (np.maximum(abs(u), abs(v)) <= 0.85)
    & (np.maximum(abs(u), abs(v)) >= 0.5),
    "rhombus": lambda u, v: abs(u) / 1.0 + abs(v) / 0.5 <= 1.0,
    "hourglass": _poly(
        [(-0.8, -0.95), (0.8, -0.95), (0.12, 0.0), (0.8, 0.95), (-0.8, 0.95),
         (-0.12, 0.0)]
    ),
}
ALL_SHAPES = SOURCE_SHAPES + SIMILAR_SHAPES


def _grid(supersample=SUPERSAMPLE):
    n = SIZE * supersample
    coords = ((np.arange(n) + 0.5) / supersample).astype(np.float32)
    return np.meshgrid(coords, coords, indexing="xy")  # x, y: (n, n)


def _downsample(a):
    n, h = a.shape[0], SIZE
    return a.reshape(n, h, SUPERSAMPLE, h, SUPERSAMPLE).mean(axis=(2, 4))


def _shape_masks(rng, shape_ids, names, gx, gy, scale_range=None):
    """Antialiased masks, (n, SIZE, SIZE) float in [0, 1], and the coordinates."""
    n = len(shape_ids)
    r = rng.uniform(*(scale_range or SCALE_RANGE), size=n).astype(np.float32)
    margin = 0.4 * r
    cx = rng.uniform(margin, SIZE - margin).astype(np.float32)
    cy = rng.uniform(margin, SIZE - margin).astype(np.float32)
    theta = np.deg2rad(rng.uniform(-ROTATION_RANGE, ROTATION_RANGE, size=n)).astype(np.float32)
    aspect = rng.uniform(*ASPECT_RANGE, size=n).astype(np.float32)
    dx = gx[None] - cx[:, None, None]
    dy = gy[None] - cy[:, None, None]
    c, s = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    u = (dx * c + dy * s) / r[:, None, None]
    v = (-dx * s + dy * c) / (r * aspect)[:, None, None]
    mask = np.zeros(u.shape, dtype=bool)
    for k, name in enumerate(names):
        idx = np.flatnonzero(shape_ids == k)
        if idx.size:
            mask[idx] = _SHAPES[name](u[idx], v[idx])
    return mask, u, v


def _colours(rng, n, reference=None):
    colours = rng.uniform(0, 1, size=(n, 3))
    if reference is not None:
        for _ in range(20):  # resample the ones too close to the reference
            close = np.linalg.norm(colours - reference, axis=1) < MIN_CONTRAST
            if not close.any():
                break
            colours[close] = rng.uniform(0, 1, size=(close.sum(), 3))
    return colours


def _texture(rng, kind, n, gx, gy, mask, u, v, shape_fn):
    """Which pixels of `mask` get the foreground colour for fill `kind`."""
    if kind == "solid":
        return mask
    if kind == "outline":
        # The shape shrunk by `inner_scale` is cut out of itself.
        inner_scale = rng.uniform(1.5, 1.9, size=n)[:, None, None]
        return mask & ~shape_fn(u * inner_scale, v * inner_scale)
    period = rng.uniform(4.0, 7.0, size=n)[:, None, None]
    phase = rng.uniform(0, 2 * np.pi, size=(n, 2))
    x = gx[None] * 2 * np.pi / period + phase[:, 0, None, None]
    y = gy[None] * 2 * np.pi / period + phase[:, 1, None, None]
    if kind == "stripes":
        angle = rng.uniform(0, np.pi, size=n)[:, None, None]
        pattern = np.sin(x * np.cos(angle) + y * np.sin(angle)) > 0
    elif kind == "checker":
        pattern = np.sin(x) * np.sin(y) > 0
    elif kind == "dots":
        pattern = (np.cos(x) + np.cos(y)) > 1.0
    else:
        raise ArgumentError(f"Unknown texture {kind!r}")
    return mask & pattern


def _segments(rng, canvas, count, thickness_range=(0.6, 1.4)):
    """Draws `count[i]` random line segments and blobs onto canvas[i].

    Antialiased analytically (coverage falls off over one pixel from the
    segment's edge), at the output resolution.
    """
    gx, gy = _grid(1)
    for j in range(int(count.max(initial=0))):
        active = np.flatnonzero(count > j)
        if not active.size:
            break
        k = active.size
        p0 = rng.uniform(-2, SIZE + 2, size=(k, 2))
        length = rng.uniform(3, 14, size=k)
        angle = rng.uniform(0, 2 * np.pi, size=k)
        p1 = p0 + length[:, None] * np.stack([np.cos(angle), np.sin(angle)], 1)
        blob = rng.uniform(size=k) < 0.35
        p1[blob] = p0[blob]
        thick = rng.uniform(*thickness_range, size=k)
        thick[blob] = rng.uniform(1.0, 2.2, size=blob.sum())
        colour = rng.uniform(0, 1, size=(k, 3))
        px, py = gx[None], gy[None]
        p0, p1 = p0.astype(np.float32), p1.astype(np.float32)
        ax, ay = p0[:, 0, None, None], p0[:, 1, None, None]
        bx, by = p1[:, 0, None, None], p1[:, 1, None, None]
        ddx, ddy = bx - ax, by - ay
        denom = np.maximum(ddx * ddx + ddy * ddy, 1e-9)
        t = np.clip(((px - ax) * ddx + (py - ay) * ddy) / denom, 0, 1)
        dist = np.hypot(px - ax - t * ddx, py - ay - t * ddy)
        hit = np.clip(thick[:, None, None] + 0.5 - dist, 0, 1)[..., None]
        canvas[active] = canvas[active] * (1 - hit) + colour[:, None, None] * hit
    return canvas


def render_chunk(task, split, chunk_index, size):
    """Renders one chunk: `(images uint8 (size, 32, 32, 3), labels int64)`."""
    classes = TASKS[task]
    rng = np.random.default_rng(
        [GENERATOR_VERSION, list(TASKS).index(task), SPLITS.index(split), chunk_index]
    )
    labels = rng.permutation(np.arange(size) % len(classes))
    gx, gy = _grid()

    # Background: linear gradient between two colours.
    bg0 = _colours(rng, size)
    bg1 = np.clip(bg0 + rng.normal(0, GRADIENT_STD, size=(size, 3)), 0, 1)
    g_angle = rng.uniform(0, 2 * np.pi, size=size)
    ramp = (
        np.cos(g_angle)[:, None, None] * gx[None] + np.sin(g_angle)[:, None, None] * gy[None]
    ) / (SIZE * SUPERSAMPLE) + 0.5
    ramp = _downsample(np.clip(ramp, 0, 1))[..., None]
    canvas = (bg0[:, None, None] * (1 - ramp) + bg1[:, None, None] * ramp).astype(np.float32)

    # Clutter behind the shape.
    clutter = rng.integers(CLUTTER_RANGE[0], CLUTTER_RANGE[1] + 1, size=size)
    behind = rng.binomial(clutter, 0.7)
    canvas = _segments(rng, canvas, behind)

    # Distractor: a small outline of a random shape.
    has_distractor = rng.uniform(size=size) < DISTRACTOR_PROB
    d_ids = rng.integers(0, len(ALL_SHAPES), size=size)
    d_mask, du, dv = _shape_masks(rng, d_ids, ALL_SHAPES, gx, gy, scale_range=(2.5, 4.5))
    d_colour = _colours(rng, size)
    d_hit = _downsample(d_mask & has_distractor[:, None, None])[..., None]
    canvas = canvas * (1 - d_hit) + d_colour[:, None, None] * d_hit

    # The object.
    if task == "different":
        shape_ids = rng.integers(0, len(ALL_SHAPES), size=size)
        names = ALL_SHAPES
    else:
        shape_ids, names = labels, classes
    mask, u, v = _shape_masks(rng, shape_ids, names, gx, gy)
    fg = _colours(rng, size, reference=bg0)
    if task == "different":
        fill = np.zeros_like(mask)
        for k, kind in enumerate(TEXTURES):
            idx = np.flatnonzero(labels == k)
            if not idx.size:
                continue
            # Outline needs the shape function of each example's own shape.
            for s in np.unique(shape_ids[idx]):
                sub = idx[shape_ids[idx] == s]
                fill[sub] = _texture(
                    rng, kind, len(sub), gx, gy, mask[sub], u[sub], v[sub],
                    _SHAPES[ALL_SHAPES[s]],
                )
        # Textured shapes keep a faint body so the shape itself stays visible.
        body = _downsample(mask)[..., None] * 0.25
        canvas = canvas * (1 - body) + fg[:, None, None] * body
        hit = _downsample(fill)[..., None]
    else:
        hit = _downsample(mask)[..., None]
    canvas = canvas * (1 - hit) + fg[:, None, None] * hit

    # Clutter in front (occlusion), then sensor noise.
    canvas = _segments(rng, canvas, clutter - behind, thickness_range=(0.5, 0.9))
    sigma = rng.uniform(*NOISE_RANGE, size=size)[:, None, None, None]
    canvas = canvas + rng.standard_normal(size=canvas.shape, dtype=np.float32) * sigma
    images = np.clip(np.round(canvas * 255), 0, 255).astype(np.uint8)
    return images, labels.astype(np.int64)


def render(task, split, size):
    """All `size` examples of one split, as `(images, labels)` NumPy arrays."""
    if task not in TASKS:
        raise ArgumentError(f"Argument `task` must be one of {sorted(TASKS)}. Received: task={task!r}")
    if split not in SPLITS:
        raise ArgumentError(f"Argument `split` must be one of {list(SPLITS)}. Received: split={split!r}")
    parts = [
        render_chunk(task, split, i, min(CHUNK, size - start))
        for i, start in enumerate(range(0, size, CHUNK))
    ]
    if not parts:
        return np.zeros((0, SIZE, SIZE, 3), np.uint8), np.zeros((0,), np.int64)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
