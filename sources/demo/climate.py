"""The region's day-to-day weather regime (Montpellier-like climate), shared by the weather
stations and by the traffic counters (drivers slow down and some stay home when it rains)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

# Montpellier-Fréjorgues-like normals: monthly rain (mm) and chance of a rainy day.
RAIN_MM = np.array([55, 50, 35, 55, 45, 28, 15, 35, 80, 95, 65, 65], dtype=np.float64)
RAIN_P = np.array([0.17, 0.15, 0.14, 0.20, 0.17, 0.10, 0.06, 0.10, 0.13, 0.20, 0.17, 0.17])


@dataclass(frozen=True)
class RegionalWeather:
    """One value per day, for days ``first - 1`` … ``last + 1`` (a margin for UTC/local shifts)."""

    first: date
    anomaly: np.ndarray  # °C, added to the seasonal mean
    rain_mm: np.ndarray  # regional daily rain (0 on dry days)
    wind: np.ndarray  # mean 10-m wind of the day, m/s
    north_wind: np.ndarray  # bool: mistral / tramontane day (N–NW, dry, windy)

    def index(self, day: date) -> int:
        return (day - self.first).days

    def rainy(self, day: date) -> bool:
        return bool(self.rain_mm[self.index(day)] >= 1.0)


def seasonal_mean(day_of_year: np.ndarray) -> np.ndarray:
    """Daily mean temperature normal: ~7.5 °C in January, ~25 °C in late July."""
    return 16.1 - 8.8 * np.cos(2 * np.pi * (np.asarray(day_of_year) - 21) / 365.25)


def seasonal_range(day_of_year: np.ndarray) -> np.ndarray:
    """Normal TX − TN: ~9.5 °C in winter, ~11 °C in summer."""
    return 10.2 - 0.9 * np.cos(2 * np.pi * (np.asarray(day_of_year) - 21) / 365.25)


def regional_weather(rng: np.random.Generator, first: date, last: date) -> RegionalWeather:
    """Rainy spells (a two-state Markov chain), temperature anomalies (AR(1)) and wind days."""
    start = first - timedelta(days=1)
    n = (last - first).days + 3
    months = np.array([(start + timedelta(days=i)).month - 1 for i in range(n)])
    p = RAIN_P[months]
    draws = rng.random(n)
    rain = np.zeros(n, dtype=bool)
    for i in range(n):  # one step per day: persistence of rainy spells
        q = min(0.5, p[i] * 2.2) if i and rain[i - 1] else p[i] * 0.85
        rain[i] = draws[i] < q
    mean_amount = RAIN_MM[months] / np.maximum(RAIN_P[months] * 30.4, 1e-6)
    amount = rng.gamma(0.7, 0.85 * mean_amount / 0.7)
    rain_mm = np.where(rain, np.maximum(amount, 1.0), np.where(rng.random(n) < 0.08, 0.2, 0.0))
    shocks = rng.normal(0.0, 1.1, n)
    anomaly = np.zeros(n)
    for i in range(n):
        anomaly[i] = (0.75 * anomaly[i - 1] if i else 0.0) + shocks[i]
    north = (~rain) & (rng.random(n) < 0.18)
    wind = rng.gamma(4.0, 0.7, n) + np.where(north, 3.5, 0.0)
    # cooler on mistral and rainy days; re-centred so the year stays on the normals
    cooling = np.where(north, 1.5, 0.0) + np.where(rain, 1.0, 0.0)
    anomaly = anomaly - cooling + (0.18 * 1.5 * 0.85 + 0.15 * 1.0)
    return RegionalWeather(start, anomaly, rain_mm, wind, north)
