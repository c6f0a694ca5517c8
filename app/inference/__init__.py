"""Loading trained models and running them for requests."""
