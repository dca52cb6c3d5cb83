"""jitflow: git-native just-in-time privilege elevation."""

__version__ = "0.1.0"
