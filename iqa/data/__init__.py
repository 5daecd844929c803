"""Datasets: the embedded sample photographs and DIV2K."""
from .div2k import ImagePairs, RandomPatches, div2k_pairs, bicubic_lr, make_lr, open_pairs, read_rgb_u8, sample_pairs
from .samples import SAMPLE_NAMES, TRAIN_NAMES, VALID_NAMES, load_sample, sample_images

__all__ = [
    "SAMPLE_NAMES", "TRAIN_NAMES", "VALID_NAMES", "load_sample", "sample_images",
    "ImagePairs", "RandomPatches", "div2k_pairs", "bicubic_lr", "make_lr", "open_pairs", "read_rgb_u8", "sample_pairs",
]
