"""divepy: see inside a container image, layer by layer."""

__version__ = "0.1.0"
