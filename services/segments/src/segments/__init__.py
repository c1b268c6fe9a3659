"""segments: dynamic user segmentation for experiments."""

SERVICE = "segments"
SCHEMA = "segments"
