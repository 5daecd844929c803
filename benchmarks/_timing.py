"""Shared timing helpers: median of repeats after a warm-up, threads pinned."""
from __future__ import annotations

import statistics
import time

import numpy as np
import torch


def pin_threads(threads: int) -> None:
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:
        pass


def per_second(function, items: int, repeats: int = 5, min_seconds: float = 0.5) -> float:
    """Items per second: median over at least ``repeats`` timed calls (and at least ``min_seconds``
    in all, so fast functions are not timed on a few milliseconds), after one warm-up call."""
    function()
    times = []
    while len(times) < repeats or sum(times) < min_seconds:
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return items / statistics.median(times)


def natural_pairs(count: int, size: int = 512, sigma: float = 12.0, seed: int = 0):
    """``count`` pairs of natural ``size``x``size`` RGB crops (scikit-image photos) and noisy copies, uint8."""
    import skimage.data

    sources = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea(), skimage.data.rocket(),
               skimage.data.hubble_deep_field(), skimage.data.retina(), skimage.data.immunohistochemistry()]
    rng = np.random.default_rng(seed)
    pairs = []
    for index in range(count):
        image = sources[index % len(sources)]
        if min(image.shape[:2]) < size:
            image = np.pad(image, ((0, max(0, size - image.shape[0])), (0, max(0, size - image.shape[1])), (0, 0)),
                           mode="reflect")
        top = rng.integers(0, image.shape[0] - size + 1)
        left = rng.integers(0, image.shape[1] - size + 1)
        reference = np.ascontiguousarray(image[top : top + size, left : left + size, :3])
        distorted = np.clip(reference + rng.normal(0, sigma, reference.shape), 0, 255).round().astype(np.uint8)
        pairs.append((reference, distorted))
    return pairs


def to_batch(arrays) -> torch.Tensor:
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255).contiguous()
