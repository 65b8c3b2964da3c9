"""Learned detectors: the residual CNN (network, patch scoring, training).

The analyzer that uses it is :mod:`forensics.analyzers.residual_cnn`; the model is ``models/residual-cnn``.
"""

from forensics.learned.network import ResidualCNN, ResidualCNNConfig

__all__ = ["ResidualCNN", "ResidualCNNConfig"]
