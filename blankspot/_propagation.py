"""Radio propagation kernels: Okumura-Hata / COST-231 median loss, knife-edge J(v), radios.

Pure numpy on arrays; the terrain side (profiles, sweeps) is in :mod:`blankspot.terrain`.

References
----------
* Hata, M. (1980), "Empirical formula for propagation loss in land mobile radio services",
  IEEE Trans. Veh. Tech. 29(3): the urban formula, the small/medium-city mobile antenna
  correction ``a(hm)``, and the suburban and open-area corrections.
* COST 231 (1999), final report, ch. 4: the Hata extension to 1500-2000 MHz.
* ITU-R P.526-15, eq. (31): ``J(v) = 6.9 + 20 log10(sqrt((v - 0.1)^2 + 1) + v - 0.1)`` for
  ``v > -0.78``, else 0; and the Bullington construction of section 4.5 (equivalent knife
  edge from the steepest slopes seen from each end).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from blankspot._errors import InputError

__all__ = [
    "ENVIRONMENTS",
    "RADIOS",
    "Radio",
    "hata_loss_db",
    "knife_edge_db",
    "radio_profile",
]

ENVIRONMENTS = ("urban", "suburban", "rural")
#: Hata is fitted for 1-20 km; nearer than this the median is held at its value here (m).
HATA_MIN_DISTANCE_M = 100.0


@dataclass(frozen=True)
class Radio:
    """A transmitter profile: carrier frequency and the power budget behind RSRP.

    ``eirp_dbm`` is the total EIRP of one sector (transmitter power + antenna gain - feeder
    loss); RSRP is the power of one resource element, ``eirp_dbm - 10 log10(12 * n_rb)``,
    with ``n_rb = 5 * bandwidth_mhz`` resource blocks.
    """

    name: str
    frequency_mhz: float
    eirp_dbm: float
    bandwidth_mhz: float

    @property
    def rsrp_offset_db(self) -> float:
        """``EIRP`` per resource element: RSRP = this - path loss."""
        return self.eirp_dbm - 10 * math.log10(12 * 5 * self.bandwidth_mhz)


#: Documented defaults. LTE 900 (band 8, 10 MHz: Indonesian operators hold 5-10 MHz there):
#: 43 dBm (20 W) per port + 15 dBi rural sector antenna - 2 dB feeder = 56 dBm EIRP.
#: LTE 1800 (band 3, 20 MHz, the main Indonesian LTE layer): 46 dBm (40 W) + 17 dBi - 2 dB
#: = 61 dBm EIRP. With -110 dBm RSRP on flat suburban ground, a 30 m mast and a 1.5 m phone
#: these reach 4.1 km (900) and 2.8 km (1800) by Hata; 14 km and 10.5 km in open ("rural") land.
RADIOS = {
    "LTE900": Radio("LTE900", 900.0, 56.0, 10.0),
    "LTE1800": Radio("LTE1800", 1800.0, 61.0, 20.0),
}


def radio_profile(profile: str | Radio) -> Radio:
    """Return the :class:`Radio` for a name in :data:`RADIOS` (or a Radio given as is)."""
    if isinstance(profile, Radio):
        return profile
    key = str(profile).upper().replace(" ", "").replace("-", "")
    if key not in RADIOS:
        raise InputError(
            f"radio profile {profile!r} is unknown; use one of {list(RADIOS)} or a "
            "blankspot.terrain.Radio(name, frequency_mhz, eirp_dbm, bandwidth_mhz)."
        )
    return RADIOS[key]


def _check_environment(environment: str) -> str:
    if environment not in ENVIRONMENTS:
        raise InputError(
            f"environment was {environment!r} but is expected to be in {ENVIRONMENTS}."
        )
    return environment


def hata_loss_db(
    distance_m: np.ndarray,
    *,
    frequency_mhz: float,
    height_base_m: np.ndarray | float,
    height_mobile_m: np.ndarray | float,
    environment: str = "suburban",
) -> np.ndarray:
    """Median path loss (dB): Okumura-Hata up to 1500 MHz, COST-231 Hata above.

    Urban (small/medium city) loss with ``a(hm) = (1.1 log f - 0.7) hm - (1.56 log f - 0.8)``;
    ``suburban`` subtracts ``2 (log(f/28))^2 + 5.4`` and ``rural`` (Hata's open area)
    ``4.78 (log f)^2 - 18.33 log f + 40.94``, for COST-231 too (its own corrections are for
    cities only). Distances below :data:`HATA_MIN_DISTANCE_M` use that distance. Heights are
    above the ground at each antenna.

    Examples
    --------
    >>> round(float(hata_loss_db(np.array(10_000.0), frequency_mhz=900, height_base_m=30,
    ...     height_mobile_m=1.5, environment="urban")), 1)
    161.6
    """
    env = _check_environment(environment)
    f = float(frequency_mhz)
    if not 150 <= f <= 2000:
        raise InputError(
            f"frequency_mhz={f:g} is outside Hata/COST-231 (150-2000 MHz); use an LTE 900 "
            "or 1800 profile."
        )
    d_km = np.maximum(np.asarray(distance_m, dtype="float64"), HATA_MIN_DISTANCE_M) / 1000
    hb = np.maximum(np.asarray(height_base_m, dtype="float64"), 1.0)
    hm = np.asarray(height_mobile_m, dtype="float64")
    lf = math.log10(f)
    a_hm = (1.1 * lf - 0.7) * hm - (1.56 * lf - 0.8)
    slope = (44.9 - 6.55 * np.log10(hb)) * np.log10(d_km)
    if f <= 1500:
        urban = 69.55 + 26.16 * lf - 13.82 * np.log10(hb) - a_hm + slope
    else:
        urban = 46.3 + 33.9 * lf - 13.82 * np.log10(hb) - a_hm + slope
    if env == "urban":
        return urban
    if env == "suburban":
        return urban - 2 * math.log10(f / 28) ** 2 - 5.4
    return urban - 4.78 * lf**2 + 18.33 * lf - 40.94


def knife_edge_db(v: np.ndarray) -> np.ndarray:
    """ITU-R P.526 eq. (31) knife-edge loss J(v) in dB (0 for ``v <= -0.78``).

    Examples
    --------
    >>> knife_edge_db(np.array([-1.0, 0.0, 1.0])).round(2)
    array([ 0.  ,  6.03, 13.93])
    """
    v = np.asarray(v, dtype="float64")
    with np.errstate(invalid="ignore"):
        w = v - 0.1
        j = 6.9 + 20 * np.log10(np.sqrt(w * w + 1) + w)
        return np.where(v > -0.78, j, 0.0)


def fresnel_v(
    h_m: np.ndarray, d1_m: np.ndarray, d2_m: np.ndarray, wavelength_m: float
) -> np.ndarray:
    """Diffraction parameter ``v = h sqrt(2 (d1 + d2) / (lambda d1 d2))`` (P.526 eq. 26)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return h_m * np.sqrt(2 * (d1_m + d2_m) / (wavelength_m * d1_m * d2_m))


#: Fractions along a path where the smooth-earth edge is looked for (denser near the ends,
#: where a low antenna's Fresnel zone meets the ground).
_SMOOTH_T = 0.5 * (1 - np.cos(np.pi * (np.arange(1, 128) / 128)))


def smooth_earth_v(
    distance_m: np.ndarray,
    height_a_m: np.ndarray | float,
    height_b_m: np.ndarray | float,
    *,
    two_kr: float,
    wavelength_m: float,
    chunk: int = 16_384,
) -> np.ndarray:
    """Largest ``v`` of the smooth earth (sea-level sphere of radius ``k R``) on each path.

    Bullington's edge of the smooth earth between antennas ``height_a_m`` and
    ``height_b_m`` above it: the delta-Bullington idea of ITU-R P.526 section 4.5 subtracts
    this from the terrain's knife-edge loss, because the median (here Hata's) already
    carries the smooth-earth loss. Flat terrain thus adds nothing to Hata.
    """
    d = np.asarray(distance_m, dtype="float64")
    ha = np.broadcast_to(np.asarray(height_a_m, dtype="float64"), d.shape)
    hb = np.broadcast_to(np.asarray(height_b_m, dtype="float64"), d.shape)
    out = np.empty(d.shape)
    flat_d, flat_a, flat_b, flat_o = d.ravel(), ha.ravel(), hb.ravel(), out.reshape(-1)
    t = _SMOOTH_T[None, :]
    for i in range(0, flat_d.size, chunk):
        dd = flat_d[i : i + chunk, None]
        s = t * dd
        h = s * (dd - s) / two_kr - (
            flat_a[i : i + chunk, None] * (1 - t) + flat_b[i : i + chunk, None] * t
        )
        flat_o[i : i + chunk] = fresnel_v(h, s, dd - s, wavelength_m).max(axis=1)
    return out


def excess_diffraction_db(v_terrain: np.ndarray, v_smooth: np.ndarray) -> np.ndarray:
    """Knife-edge loss of the terrain beyond that of the smooth earth, ``>= 0`` dB."""
    return np.maximum(knife_edge_db(v_terrain) - knife_edge_db(v_smooth), 0.0)
