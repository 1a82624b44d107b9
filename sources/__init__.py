"""Partner registry, transports, format readers, landing and raw load."""
