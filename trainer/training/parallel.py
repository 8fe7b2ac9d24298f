"""Data-parallel training (`train --devices N`): Keras 3's DataParallel under the JAX backend.

Each step's batch (`--batch-size`, global) is split evenly over the devices, and the gradients
are averaged across them, so one epoch on N devices computes what it computes on one.
"""

from __future__ import annotations

import os

from trainer.config import ConfigError

BACKEND = "jax"


def want_backend(devices: int) -> None:
    """Before Keras is imported: choose the JAX backend for --devices other than 1."""
    if devices == 1:
        return
    chosen = os.environ.setdefault("KERAS_BACKEND", BACKEND)
    if chosen != BACKEND:
        raise ConfigError(
            f"--devices {devices} needs the JAX backend, and KERAS_BACKEND is {chosen!r}: "
            f"unset it or set KERAS_BACKEND={BACKEND}"
        )


def distribute(devices: int, batch_size: int) -> dict[str, str]:
    """Spread training over `devices` (0: all visible) and say how, as run params."""
    import keras

    if devices == 1:
        return {"devices": "1", "batch_size_per_device": str(batch_size)}
    if keras.backend.backend() != BACKEND:
        raise ConfigError(
            f"--devices {devices} needs the JAX backend (this process has "
            f"{keras.backend.backend()!r}): set KERAS_BACKEND={BACKEND}"
        )
    visible = keras.distribution.list_devices()
    count = devices or len(visible)
    if count > len(visible):
        raise ConfigError(
            f"--devices {devices}: only {len(visible)} visible ({', '.join(visible)})"
        )
    if batch_size % count:
        raise ConfigError(
            f"--batch-size {batch_size} is split over {count} devices: use a multiple of {count}"
        )
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=visible[:count]))
    return {
        "devices": str(count),
        "device_list": ",".join(visible[:count]),
        "batch_size_per_device": str(batch_size // count),
    }
