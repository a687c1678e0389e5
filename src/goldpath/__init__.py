"""goldpath: an open-source Internal Developer Platform."""

__version__ = "0.1.0"
