"""The checkpoint file: versioned, pickle-free, checked, written atomically.

Layout (little-endian)::

    b"RTNBCKPT"  u32 format  u64 header length  header (JSON)  body  digest (32 bytes)

The header is a JSON document: ``config`` (what a restore must match), ``state`` (a
tree of JSON values) and ``arrays`` (dtype, shape, offset and length of each numpy
array in the body). In the state tree a few tagged objects stand for what JSON has
not: ``{"$a": i}`` the i-th array, ``{"$f": i}`` a DataFrame encoded by
:func:`rtnb.codec.encode_frame` (stored as the i-th array, of bytes), ``{"$ts": ns}``
a timestamp, ``{"$td": ns}`` a duration, ``{"$t": [...]}`` a tuple. Arrays are of
numbers, booleans, datetimes or fixed-width strings only — never objects — so
reading a checkpoint never runs code. The digest (BLAKE2b over everything before it)
makes a truncated or altered file a :class:`rtnb.CheckpointError` before anything
is decoded, and every size is checked against the file before an array is built.

Writing goes to a temporary file in the same directory, flushed to disk, then
``os.replace``-d over the old checkpoint: a crash at any moment leaves the previous
checkpoint or the new one, whole.

>>> import numpy as np, pandas as pd, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.ckpt"
>>> state = {"counts": np.arange(3), "at": pd.Timestamp("2024-01-01"), "keys": ("FR", None)}
>>> size = write_checkpoint(path, config={"metric": "orders"}, state=state)
>>> back = read_checkpoint(path)
>>> back["config"], back["state"]["counts"].tolist(), back["state"]["at"], back["state"]["keys"]
({'metric': 'orders'}, [0, 1, 2], Timestamp('2024-01-01 00:00:00'), ('FR', None))
>>> _ = path.write_bytes(path.read_bytes()[:-5])
>>> read_checkpoint(path)                                # doctest: +ELLIPSIS
Traceback (most recent call last):
...
rtnb._errors.CheckpointError: checkpoint '.../demo.ckpt' is damaged: ...
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import CheckpointError
from ..codec import decode_frame, encode_frame

__all__ = ["FORMAT", "write_checkpoint", "read_checkpoint"]

FORMAT = 1
_MAGIC = b"RTNBCKPT"
_HEAD = struct.Struct("<IQ")
_DIGEST = 32
_KINDS = frozenset("biufcmMUS")  # no "O": objects would need pickle
_MAX_DIMS = 8


def _raw(a: np.ndarray) -> memoryview | bytes:
    return memoryview(a.reshape(-1).view(np.uint8)) if a.size else b""


def _digest(data: bytes | memoryview) -> bytes:
    return hashlib.blake2b(data, digest_size=_DIGEST).digest()


# --------------------------------------------------------------------------- encoding

def _encode(obj: Any, arrays: list[np.ndarray], where: str) -> Any:
    if obj is pd.NaT:
        return None
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if isinstance(obj, pd.Timestamp):
        return {"$ts": int(obj.as_unit("ns").value)}
    if isinstance(obj, pd.Timedelta):
        return {"$td": int(obj.as_unit("ns").value)}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in _KINDS:
            raise CheckpointError(f"cannot checkpoint {where}: an array of {obj.dtype} "
                                  "(only numbers, booleans, datetimes and strings)")
        arrays.append(obj if obj.flags.c_contiguous else obj.copy(order="C"))  # keeps 0-d
        return {"$a": len(arrays) - 1}
    if isinstance(obj, pd.DataFrame):
        try:
            blob = encode_frame(obj)
        except Exception:  # e.g. dead-letter rows holding odd objects: keep their text
            blob = encode_frame(obj.astype(str))
        arrays.append(np.frombuffer(blob, dtype=np.uint8))
        return {"$f": len(arrays) - 1}
    if isinstance(obj, tuple):
        return {"$t": [_encode(x, arrays, where) for x in obj]}
    if isinstance(obj, list):
        return [_encode(x, arrays, where) for x in obj]
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str) or k.startswith("$"):
                raise CheckpointError(f"cannot checkpoint {where}: key {k!r} (keys are "
                                      "strings not starting with '$')")
            out[k] = _encode(v, arrays, f"{where}.{k}")
        return out
    raise CheckpointError(f"cannot checkpoint {where}: a {type(obj).__name__} "
                          "(not a number, string, array, frame, list or dict)")


def _decode(obj: Any, arrays: list[np.ndarray], path: str) -> Any:
    if isinstance(obj, list):
        return [_decode(x, arrays, path) for x in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        (tag, v), = obj.items()
        if tag.startswith("$"):
            try:
                if tag == "$a":
                    return arrays[v]
                if tag == "$f":
                    return decode_frame(arrays[v].tobytes())
                if tag == "$ts":
                    return pd.Timestamp(int(v), unit="ns")
                if tag == "$td":
                    return pd.Timedelta(int(v), unit="ns")
                if tag == "$t":
                    return tuple(_decode(x, arrays, path) for x in v)
            except CheckpointError:
                raise
            except Exception as exc:
                raise CheckpointError(f"checkpoint {path!r} is damaged: bad {tag} value "
                                      f"({type(exc).__name__}: {exc})") from None
            raise CheckpointError(f"checkpoint {path!r} is damaged: unknown tag {tag!r}")
    return {k: _decode(v, arrays, path) for k, v in obj.items()}


# --------------------------------------------------------------------------- the file

def write_checkpoint(path: str | os.PathLike, *, config: dict, state: dict) -> int:
    """Write a checkpoint atomically (temporary file, fsync, ``os.replace``).

    Returns the file's size in bytes. Raises :class:`rtnb.CheckpointError` for a state
    that cannot be written without pickle, or a directory that cannot be written.
    """
    path = Path(path)
    arrays: list[np.ndarray] = []
    tree = {"format": FORMAT, "config": _encode(config, arrays, "config"),
            "state": _encode(state, arrays, "state")}
    specs, offset = [], 0
    for a in arrays:
        n = a.nbytes
        specs.append({"dtype": a.dtype.str, "shape": list(a.shape), "off": offset, "len": n})
        offset += n
    tree["arrays"] = specs
    tree["body"] = offset
    head = json.dumps(tree, separators=(",", ":"), allow_nan=True).encode()
    parts = [_MAGIC, _HEAD.pack(FORMAT, len(head)), head, *(_raw(a) for a in arrays)]
    h = hashlib.blake2b(digest_size=_DIGEST)
    for p in parts:
        h.update(p)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            for p in parts:
                f.write(p)
            f.write(h.digest())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        try:  # the rename itself is durable once the directory is synced
            fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:  # some file systems do not sync directories
            pass
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise CheckpointError(f"cannot write checkpoint {str(path)!r}: {exc}") from None
    return len(head) + offset + len(_MAGIC) + _HEAD.size + _DIGEST


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The ``config`` and ``state`` of a checkpoint written by :func:`write_checkpoint`.

    A missing, truncated, altered or foreign file raises :class:`rtnb.CheckpointError`
    naming the file and what is wrong.
    """
    name = str(path)
    try:
        blob = Path(path).read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {name!r} does not exist") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {name!r}: {exc}") from None

    def damaged(why: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {name!r} is damaged: {why}")

    fixed = len(_MAGIC) + _HEAD.size
    if len(blob) < fixed + _DIGEST or not blob.startswith(_MAGIC):
        raise CheckpointError(f"{name!r} is not an rtnb checkpoint (bad magic or too short)")
    fmt, head_len = _HEAD.unpack_from(blob, len(_MAGIC))
    if fmt != FORMAT:
        raise CheckpointError(f"checkpoint {name!r} has format {fmt}; this rtnb reads format {FORMAT}")
    view = memoryview(blob)
    if _digest(view[:-_DIGEST]) != blob[-_DIGEST:]:
        raise damaged("checksum mismatch (truncated or altered)")
    if fixed + head_len > len(blob) - _DIGEST:
        raise damaged("header longer than the file")
    try:
        tree = json.loads(bytes(view[fixed: fixed + head_len]))
        specs = tree["arrays"]
        body_len = int(tree["body"])
    except (ValueError, KeyError, TypeError) as exc:
        raise damaged(f"unreadable header ({type(exc).__name__}: {exc})") from None
    body = view[fixed + head_len: len(blob) - _DIGEST]
    if body_len != len(body):
        raise damaged(f"body of {len(body)} bytes, header says {body_len}")
    arrays = []
    for i, spec in enumerate(specs):
        try:
            dt = np.dtype(spec["dtype"])
            shape = tuple(int(x) for x in spec["shape"])
            off, n = int(spec["off"]), int(spec["len"])
        except (KeyError, TypeError, ValueError) as exc:
            raise damaged(f"array {i}: bad description ({exc})") from None
        if dt.kind not in _KINDS or len(shape) > _MAX_DIMS or any(s < 0 for s in shape):
            raise damaged(f"array {i}: dtype {dt} / shape {shape} not allowed")
        if off < 0 or n < 0 or off + n > len(body) or int(np.prod(shape, dtype=np.int64)) * dt.itemsize != n:
            raise damaged(f"array {i}: {n} bytes at {off} do not fit the body or the shape")
        arrays.append(np.frombuffer(body[off: off + n], dtype=dt).reshape(shape).copy())
    if tree.get("format") != FORMAT:
        raise damaged("header format differs from the file's")
    return {"config": _decode(tree.get("config"), arrays, name),
            "state": _decode(tree.get("state"), arrays, name)}
