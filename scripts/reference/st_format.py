"""Safetensors written and read by hand (struct + json, NumPy for the data).

Debian 12 does not package python3-safetensors, so the reference scripts write
the format themselves. The layout is the one optlab/safetensors writes, byte
for byte, so that the Go package's tests can compare bytes:

  8 bytes      header length N, unsigned little-endian
  N bytes      JSON header, padded with spaces to a multiple of 8:
               {"__metadata__":{...},"NAME":{"dtype":"F32","shape":[...],"data_offsets":[BEGIN,END]},...}
               "__metadata__" first when present (keys sorted), tensors sorted by
               name; no spaces inside the JSON; non-ASCII kept as UTF-8
  rest         each tensor's raw little-endian bytes, in the header's order,
               offsets relative to the end of the header

read() validates as strictly as the Go reader: header size limit, known dtypes,
offsets inside the buffer, contiguous, not overlapping, covering it exactly,
sizes matching shapes.
"""

import json
import struct

import numpy as np

MAX_HEADER = 100_000_000

DTYPES = {
    "BOOL": np.dtype("bool"), "U8": np.dtype("<u1"), "I8": np.dtype("<i1"),
    "I16": np.dtype("<i2"), "U16": np.dtype("<u2"), "F16": np.dtype("<f2"),
    "I32": np.dtype("<i4"), "U32": np.dtype("<u4"), "F32": np.dtype("<f4"),
    "I64": np.dtype("<i8"), "U64": np.dtype("<u8"), "F64": np.dtype("<f8"),
}
KEY_OF = {(v.kind, v.itemsize): k for k, v in DTYPES.items()}


def encode(tensors, metadata=None):
    """bytes of a safetensors file holding tensors ({name: numpy array})."""
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(metadata[k]) for k in sorted(metadata)}
    chunks, offset = [], 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("a tensor cannot be named __metadata__")
        a = np.asarray(tensors[name])
        key = KEY_OF.get((a.dtype.kind, a.dtype.itemsize))
        if key is None:
            raise ValueError(f"tensor {name!r}: unsupported dtype {a.dtype}")
        raw = np.ascontiguousarray(a, dtype=DTYPES[key]).tobytes()
        header[name] = {"dtype": key, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    js = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    js += b" " * (-len(js) % 8)
    return struct.pack("<Q", len(js)) + js + b"".join(chunks)


def write(path, tensors, metadata=None):
    with open(path, "wb") as f:
        f.write(encode(tensors, metadata))


def decode(buf):
    """(tensors {name: numpy array}, metadata {str: str}) of a safetensors buffer."""
    if len(buf) < 8:
        raise ValueError(f"file is {len(buf)} bytes, shorter than the 8-byte header length")
    n, = struct.unpack("<Q", buf[:8])
    if n > MAX_HEADER:
        raise ValueError(f"header length {n} exceeds the limit {MAX_HEADER}")
    if 8 + n > len(buf):
        raise ValueError(f"header length {n} runs past the end of the {len(buf)}-byte file")

    def no_dupes(pairs):
        d = {}
        for k, v in pairs:
            if k in d:
                raise ValueError(f"duplicate key {k!r} in the header")
            d[k] = v
        return d

    header = json.loads(buf[8:8 + n].decode("utf-8"), object_pairs_hook=no_dupes)
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    data = buf[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}
    if not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError("__metadata__ values must be strings")
    spans, tensors = [], {}
    for name, info in header.items():
        if set(info) != {"dtype", "shape", "data_offsets"}:
            raise ValueError(f"tensor {name!r}: keys {sorted(info)}, want dtype, shape, data_offsets")
        if info["dtype"] not in DTYPES:
            raise ValueError(f"tensor {name!r}: unknown dtype {info['dtype']!r}")
        shape = info["shape"]
        if any(not isinstance(d, int) or d < 0 for d in shape):
            raise ValueError(f"tensor {name!r}: bad shape {shape}")
        begin, end = info["data_offsets"]
        dt = DTYPES[info["dtype"]]
        want = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        if not 0 <= begin <= end <= len(data):
            raise ValueError(f"tensor {name!r}: data_offsets [{begin}, {end}] outside the {len(data)}-byte data")
        if end - begin != want:
            raise ValueError(f"tensor {name!r}: data_offsets span {end - begin} bytes, shape {shape} of "
                             f"{info['dtype']} needs {want}")
        spans.append((begin, end, name))
        tensors[name] = np.frombuffer(data[begin:end], dtype=dt).reshape(shape).copy()
    pos = 0
    for begin, end, name in sorted(spans):
        if begin != pos:
            raise ValueError(f"tensor {name!r}: data starts at {begin}, expected {pos} (gap or overlap)")
        pos = end
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} bytes of data after the last tensor")
    return tensors, metadata


def read(path):
    with open(path, "rb") as f:
        return decode(f.read())
