"""Read a legacy-format PyTorch weights file (`torch.save` before 1.6) into numpy arrays, without
PyTorch and without executing its pickle.

The legacy format is five pickles in a row (magic number, protocol version, system info, the
object, the storage keys) followed by each storage's raw bytes (an int64 element count, then the
elements). The object's pickle may name only what rebuilds tensors: an OrderedDict, the tensor
rebuild functions and the storage types. Anything else (a module, `os.system`, ...) is refused.
"""

from __future__ import annotations

import collections
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL = 1001
STORAGES = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}
"""torch.<name> -> the numpy dtype of its elements."""


class TorchFileError(ValueError):
    """A file that is not a legacy PyTorch state dict, or asks for more than tensors."""


@dataclass
class _Storage:
    dtype: np.dtype
    numel: int
    data: np.ndarray | None = None


@dataclass
class _Tensor:
    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def array(self) -> np.ndarray:
        data = self.storage.data
        item = data.itemsize
        strided = np.lib.stride_tricks.as_strided(
            data[self.offset :], self.shape, tuple(s * item for s in self.stride), writeable=False
        )
        return strided.copy()


def _rebuild(storage, offset, shape, stride, *_ignored) -> _Tensor:
    """torch._utils._rebuild_tensor(_v2): requires_grad, hooks and metadata do not matter."""
    return _Tensor(storage, int(offset), tuple(shape), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storages: dict[str, _Storage]):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _rebuild
        if module == "torch" and name in STORAGES:
            return np.dtype(STORAGES[name])
        raise pickle.UnpicklingError(f"refused {module}.{name}: only tensors may be loaded")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"refused persistent id {str(pid)[:60]}")
        _, dtype, key, _location, numel, _view = pid
        if not isinstance(dtype, np.dtype):
            raise pickle.UnpicklingError("a storage without a known storage type")
        return self.storages.setdefault(str(key), _Storage(dtype, int(numel)))


def read(path: Path) -> dict[str, np.ndarray]:
    """The state dict in `path` (name -> array); TorchFileError if it is anything else."""
    try:
        with open(path, "rb") as f:
            return _read(f)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, struct.error) as e:
        raise TorchFileError(f"{path}: not a readable legacy PyTorch weights file ({e})") from None


def _read(f) -> dict[str, np.ndarray]:
    storages: dict[str, _Storage] = {}
    if _Unpickler(f, storages).load() != MAGIC:
        raise ValueError("no legacy PyTorch magic number (a zip-format file from torch >= 1.6?)")
    if _Unpickler(f, storages).load() != PROTOCOL:
        raise ValueError("unknown protocol version")
    info = _Unpickler(f, storages).load()
    if not isinstance(info, dict) or not info.get("little_endian", False):
        raise ValueError("not written on a little-endian machine")
    state = _Unpickler(f, storages).load()
    keys = _Unpickler(f, storages).load()
    if not isinstance(state, dict) or not isinstance(keys, list):
        raise ValueError("the file holds no state dict")
    for key in keys:
        storage = storages[str(key)]
        (count,) = struct.unpack("<q", f.read(8))
        if count != storage.numel:
            raise ValueError(f"storage {key}: {count} elements, {storage.numel} expected")
        raw = f.read(count * storage.dtype.itemsize)
        if len(raw) != count * storage.dtype.itemsize:
            raise ValueError("the file ends inside a storage")
        storage.data = np.frombuffer(raw, storage.dtype)
    if any(s.data is None for s in storages.values()):
        raise ValueError("a tensor's storage is missing")
    if not all(isinstance(v, _Tensor) for v in state.values()):
        raise ValueError("the state dict holds something other than tensors")
    return {str(k): v.array() for k, v in state.items()}
