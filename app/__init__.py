"""digit-lab: a live handwritten-digit recogniser that teaches why networks need activation functions."""

__version__ = "0.1.0"
