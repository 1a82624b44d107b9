"""Sun position on arrays (NOAA low-precision formulas, ~0.01° — plenty for lamps and sunshine)."""

from __future__ import annotations

import numpy as np

SUNRISE_ALTITUDE = -0.833  # degrees: Sun's centre with standard refraction


def _declination_ra_gmst(utc: np.ndarray):
    n = np.asarray(utc, dtype=np.float64) / 86400.0 + 2440587.5 - 2451545.0
    mean_lon = np.deg2rad((280.460 + 0.9856474 * n) % 360)
    anomaly = np.deg2rad((357.528 + 0.9856003 * n) % 360)
    ecl_lon = mean_lon + np.deg2rad(1.915) * np.sin(anomaly) + np.deg2rad(0.020) * np.sin(2 * anomaly)
    obliquity = np.deg2rad(23.439 - 0.0000004 * n)
    ra = np.arctan2(np.cos(obliquity) * np.sin(ecl_lon), np.cos(ecl_lon))
    dec = np.arcsin(np.sin(obliquity) * np.sin(ecl_lon))
    gmst = np.deg2rad((280.46061837 + 360.98564736629 * n) % 360)
    return dec, ra, gmst


def elevation(utc, lat, lon) -> np.ndarray:
    """Solar elevation in degrees; arrays broadcast (e.g. ``utc[None, :]`` with ``lat[:, None]``)."""
    dec, ra, gmst = _declination_ra_gmst(utc)
    hour_angle = gmst + np.deg2rad(lon) - ra
    phi = np.deg2rad(lat)
    s = np.sin(phi) * np.sin(dec) + np.cos(phi) * np.cos(dec) * np.cos(hour_angle)
    return np.rad2deg(np.arcsin(np.clip(s, -1, 1)))


def day_length_hours(noon_utc, lat, altitude: float = SUNRISE_ALTITUDE) -> np.ndarray:
    """Hours between sunrise and sunset for the day around ``noon_utc`` (broadcasts)."""
    dec, _, _ = _declination_ra_gmst(noon_utc)
    phi = np.deg2rad(lat)
    cos_h = (np.sin(np.deg2rad(altitude)) - np.sin(phi) * np.sin(dec)) / (np.cos(phi) * np.cos(dec))
    return 2 * np.rad2deg(np.arccos(np.clip(cos_h, -1, 1))) / 15.0
