"""The serving benchmark (`digit-lab bench`): part of the package so it runs wherever the server is installed."""
