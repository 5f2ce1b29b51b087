"""
Tensors to bytes and back in the safetensors format (no pickle, self-describing).

Model updates travel between nodes as these bytes. The format (see
huggingface/safetensors) is: an 8-byte little-endian header length N, N bytes of
JSON mapping each tensor name to {dtype, shape, data_offsets} plus a "__metadata__"
dict of strings, then the raw little-endian tensor data. Files written here load with
the `safetensors` library, and decoding validates every offset and size.
"""

import json
import math
import struct

import torch

_DTYPES = {torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16',
           torch.bfloat16: 'BF16', torch.int64: 'I64', torch.int32: 'I32', torch.uint8: 'U8'}
_SIZES = {'F32': 4, 'F64': 8, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4, 'U8': 1}
_TORCH = {code: dtype for dtype, code in _DTYPES.items()}
MAX_HEADER_BYTES = 1 << 24


def encode(tensors, metadata=None):
    """
    Serialise tensors and string metadata.

    :param tensors: name -> tensor (CPU or GPU; copied to CPU).
    :param metadata: str -> str dict.
    :return: bytes
    """
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        if tensor.dtype not in _DTYPES:
            raise ValueError(f'{name}: unsupported dtype {tensor.dtype}')
        data = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b''
        header[name] = {'dtype': _DTYPES[tensor.dtype], 'shape': list(tensor.shape),
                        'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text)) + text + b''.join(chunks)


def decode(data, device='cpu'):
    """
    Parse bytes written by `encode` (or any safetensors file).

    :param data: bytes-like.
    :return: (name -> tensor, metadata dict)
    :raises ValueError: on any malformed header, offset or size.
    """
    data = memoryview(bytes(data))
    if len(data) < 8:
        raise ValueError('tensor payload shorter than its 8-byte header length')
    (length,) = struct.unpack('<Q', data[:8])
    if length > MAX_HEADER_BYTES or 8 + length > len(data):
        raise ValueError(f'tensor header length {length} exceeds the payload')
    try:
        header = json.loads(bytes(data[8:8 + length]))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f'tensor header is not JSON: {error}') from None
    if not isinstance(header, dict):
        raise ValueError('tensor header must be a JSON object')
    metadata = _metadata(header.pop('__metadata__', {}))
    body = data[8 + length:]
    tensors = {}
    for name, entry in header.items():
        code, shape, start, end = _entry(name, entry)
        count = math.prod(shape)
        if not 0 <= start <= end <= len(body) or end - start != count * _SIZES[code]:
            raise ValueError(f'{name}: data offsets {start}..{end} do not fit shape {shape}')
        raw = torch.frombuffer(bytearray(body[start:end]), dtype=torch.uint8) if end > start \
            else torch.empty(0, dtype=torch.uint8)
        tensors[name] = raw.view(_TORCH[code]).reshape(shape).to(device)
    return tensors, metadata


def _is_count(value):
    """Return True for a non-negative JSON integer (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _metadata(metadata):
    """Return the header's metadata as a str -> str dict, or raise ValueError."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not all(
            isinstance(value, str) for value in metadata.values()):
        raise ValueError('tensor header __metadata__ must map names to strings')
    return dict(metadata)


def _entry(name, entry):
    """
    Check one tensor entry of a header.

    :return: (dtype code, shape list, start, end)
    :raises ValueError: unless dtype is known, shape a list of counts and
        data_offsets two counts.
    """
    try:
        code, shape, offsets = entry['dtype'], entry['shape'], entry['data_offsets']
    except (KeyError, TypeError):
        raise ValueError(f'{name}: malformed tensor entry') from None
    if not isinstance(code, str) or code not in _SIZES:
        raise ValueError(f'{name}: unsupported dtype {code!r}')
    if not isinstance(shape, list) or not all(_is_count(size) for size in shape):
        raise ValueError(f'{name}: shape {shape!r} is not a list of sizes >= 0')
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_is_count, offsets)):
        raise ValueError(f'{name}: data_offsets {offsets!r} are not two offsets >= 0')
    return code, shape, offsets[0], offsets[1]
