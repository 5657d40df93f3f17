"""Writes the .npy fixtures of the bench tests: inputs in every dtype and format version we read,
malformed files, and attention outputs computed by NumPy in float64 as the reference for
`mqa attend`. Run from the repository root: python3 bench/src/test/python/make_npy_fixtures.py
"""
import io
import pathlib

import numpy as np

out = pathlib.Path("bench/src/test/resources/npy")
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(20261124)


def attention(q, k, v, causal=False, window=None, softcap=None, scale=None, alibi=False, sinks=None):
    """Reference attention in float64: q [nq,H,d], k/v [nk,KV,d] -> [nq,H,d]."""
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    nq, H, d = q.shape
    nk, KV, _ = k.shape
    g = H // KV
    scale = 1 / np.sqrt(d) if scale is None else scale
    o = np.zeros((nq, H, d))
    slopes = 2.0 ** (-8.0 * (np.arange(H) + 1) / H)  # H is a power of two in these fixtures
    for i in range(nq):
        p = nk - nq + i
        for h in range(H):
            s = scale * (k[:, h // g, :] @ q[i, h])
            if softcap is not None:
                s = softcap * np.tanh(s / softcap)
            j = np.arange(nk)
            if alibi:
                s = s + slopes[h] * (j - p)
            visible = np.ones(nk, bool)
            if causal or window is not None:
                visible &= j <= p
            if window is not None:
                visible &= j > p - window
            s = np.where(visible, s, -np.inf)
            top = s.max(initial=-np.inf)
            if sinks is not None:
                top = max(top, sinks[h])
            if top == -np.inf:
                continue
            w = np.exp(s - top)
            den = w.sum() + (np.exp(sinks[h] - top) if sinks is not None else 0.0)
            o[i, h] = (w @ v[:, h // g, :]) / den
    return o.astype(np.float32)


# Inputs: 5 queries, 8 query heads over 2 KV heads, head dim 24, 37 keys.
q = rng.standard_normal((5, 8, 24), dtype=np.float32)
k = rng.standard_normal((37, 2, 24), dtype=np.float32)
v = rng.standard_normal((37, 2, 24), dtype=np.float32)
sinks = rng.standard_normal(8).astype(np.float32)
np.save(out / "q.npy", q)
np.save(out / "k.npy", k)
np.save(out / "v.npy", v)
np.save(out / "sinks.npy", sinks)
np.save(out / "o_plain.npy", attention(q, k, v))
np.save(out / "o_causal.npy", attention(q, k, v, causal=True))
np.save(out / "o_window_softcap_sinks.npy",
        attention(q, k, v, window=7, softcap=1.5, sinks=sinks))
np.save(out / "o_alibi_scale.npy", attention(q, k, v, causal=True, alibi=True, scale=0.3))

# The same keys in other dtypes and byte orders, and a MQA layout.
np.save(out / "k_f16.npy", k.astype(np.float16))
np.save(out / "k_f64.npy", k.astype(np.float64))
np.save(out / "k_f4_big.npy", k.astype(">f4"))
np.save(out / "k_f8_big.npy", k.astype(">f8"))
np.save(out / "o_causal_k_f16.npy",
        attention(q, k.astype(np.float16).astype(np.float32), v, causal=True))
k1 = rng.standard_normal((16, 1, 24), dtype=np.float32)
v1 = rng.standard_normal((16, 1, 24), dtype=np.float32)
np.save(out / "k_mqa.npy", k1)
np.save(out / "v_mqa.npy", v1)
np.save(out / "o_mqa_causal.npy", attention(q, k1, v1, causal=True))

# Format versions 2.0 and 3.0.
small = np.arange(6, dtype=np.float32).reshape(2, 3)
for version in ((2, 0), (3, 0)):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, small, version=version)
    (out / f"small_v{version[0]}.npy").write_bytes(buffer.getvalue())

# Shapes and dtypes the command refuses.
np.save(out / "int32.npy", np.arange(6, dtype=np.int32).reshape(1, 2, 3))
np.save(out / "rank2.npy", np.zeros((4, 24), dtype=np.float32))
np.save(out / "fortran.npy", np.asfortranarray(np.zeros((2, 2, 24), dtype=np.float32)))
np.save(out / "k_3heads.npy", np.zeros((37, 3, 24), dtype=np.float32))
np.save(out / "k_d16.npy", np.zeros((37, 2, 16), dtype=np.float32))
good = (out / "rank2.npy").read_bytes()
(out / "truncated.npy").write_bytes(good[:-10])
(out / "bad_magic.npy").write_bytes(b"NOTNUMPY" + good[8:])
(out / "bad_header.npy").write_bytes(good.replace(b"'shape': (4, 24)", b"'shape': [4, 24]"))
(out / "empty.npy").write_bytes(b"")
