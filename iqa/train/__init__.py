"""Training of the bundled SR models (``iqa train-sr``)."""
from .loop import TrainConfig, train

__all__ = ["TrainConfig", "train"]
