"""The fixed view schedule of a meta-image: 10 rows of elevation x 10 columns of azimuth.

View (r, c) looks at the part from direction
    d = (cos(el) cos(az), cos(el) sin(az), sin(el))
with el = 81 - 18 r degrees (81 ... -81, top row looks down on +Z) and az = 9 + 36 c degrees.
The half-step offsets keep every view off the coordinate planes, so no axis-aligned face is
ever seen exactly edge-on (which would make silhouettes depend on float rounding).
The image "up" of every view is the part's +Z projected onto the view plane.
"""

from __future__ import annotations

import numpy as np

ROWS = 10
COLS = 10
SCHEDULE = "elev81to-81x10_azim9step36x10_v1"
"""Name recorded in every meta-image; change it whenever the schedule changes."""


def elevations() -> np.ndarray:
    """Elevation of each row, in degrees, top row first."""
    return 90.0 - (np.arange(ROWS) + 0.5) * (180.0 / ROWS)


def azimuths() -> np.ndarray:
    """Azimuth of each column, in degrees, about +Z from +X."""
    return 9.0 + np.arange(COLS) * (360.0 / COLS)


def view_directions() -> np.ndarray:
    """(ROWS, COLS, 3) unit vectors from the part centre towards the viewer, part frame."""
    el = np.radians(elevations())[:, None]
    az = np.radians(azimuths())[None, :]
    d = np.stack(
        np.broadcast_arrays(np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)),
        axis=-1,
    )
    return d


def view_rotations() -> np.ndarray:
    """(ROWS, COLS, 3, 3) rotations taking part coordinates to view coordinates.

    View coordinates: x to the image right, y to the image up, z towards the viewer
    (Blender's camera convention, so an object with this rotation is seen as view (r, c) by a
    camera looking down -Z).
    """
    d = view_directions()
    up = np.array([0.0, 0.0, 1.0])
    x = np.cross(up, d)
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    y = np.cross(d, x)
    return np.stack([x, y, d], axis=-2)
