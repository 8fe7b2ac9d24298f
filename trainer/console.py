"""What the trainer prints: progress lines on stderr, and the libraries kept quiet.

TensorFlow, absl and MLflow print start-up lines (CUDA probing, oneDNN, INFO logs) that bury
the figures a user came for. `quiet_libraries()` sets their own log levels before they load and
`load_tensorflow()` hides what TensorFlow's C++ side writes while it loads (it logs before its
log level is read); `--verbose` leaves them all as they are.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator

NOISY_LOGGERS = ("mlflow", "alembic", "absl", "tensorflow", "keras", "urllib3", "optuna")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


VERBOSE = "MILLING_VERBOSE"
"""Set to 1 by `--verbose`, so that the processes we start (a scoring server) are verbose too."""


def verbose_wanted() -> bool:
    return os.environ.get(VERBOSE, "") not in ("", "0")


def quiet_libraries(verbose: bool | None = None) -> None:
    """Silence the libraries' INFO lines and warnings (also in the processes we start)."""
    if verbose:  # also over quiet settings inherited from a parent process
        os.environ.update(
            {VERBOSE: "1", "TF_CPP_MIN_LOG_LEVEL": "0", "MLFLOW_LOGGING_LEVEL": "INFO"}
        )
    if verbose or (verbose is None and verbose_wanted()):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(keras|tensorflow|mlflow|google|pydantic)(\.|$)")


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Hide what native code writes to stderr in the block; show it if the block fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def load_tensorflow(verbose: bool | None = None) -> None:
    """Quiet the libraries and import TensorFlow and Keras now (the command line's start)."""
    quiet_libraries(verbose)
    import_tensorflow()


def import_tensorflow() -> None:
    """Import TensorFlow and Keras without their native start-up lines (unless verbose), and
    without touching the environment or logging: the logged model does this in a host process."""
    if verbose_wanted() or "tensorflow" in sys.modules:
        return
    with quiet_stderr():
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
