"""HTTP routes: thin wrappers around the preprocessing and inference services."""
