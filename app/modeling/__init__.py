"""What training and serving share: the custom layers, the model card schema and the family's definitions.

Serving imports this package and never app.training; training imports it and never app.inference."""

DEFAULT_MODEL = "cnn"  # the model a request gets when it names none: the family's most accurate member
