"""HA energy sensors of other integrations, adopted as metering points (one entry each)."""
