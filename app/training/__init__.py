"""Everything that makes the models in `models/`: data, architectures, probes, training, evaluation."""
