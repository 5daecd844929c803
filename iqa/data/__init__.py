"""Datasets: the embedded sample photographs and (later) DIV2K."""
from .samples import SAMPLE_NAMES, TRAIN_NAMES, VALID_NAMES, load_sample, sample_images

__all__ = ["SAMPLE_NAMES", "TRAIN_NAMES", "VALID_NAMES", "load_sample", "sample_images"]
