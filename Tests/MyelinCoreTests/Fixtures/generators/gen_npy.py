"""Writes the .npy/.npz fixtures of NPYTests into ../npy/ plus ../npy/expected.json.

Each array fixture has a case (op "npy", or "npz" with params.key) whose expected tensor holds the
values NumPy wrote; malformed files have a case with op "error" and params.error naming the NPYError
case the reader must throw. int64 values stay below 2**53 because the JSON path goes through Double.
Run from anywhere: python3 Tests/MyelinCoreTests/Fixtures/generators/gen_npy.py
"""
import os
import zipfile

import numpy as np

import os as _os
import sys as _sys

# The shared fixture writer lives in Tests/MyelinTestSupport.
_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "MyelinTestSupport"))
from fixturelib import OUT, case, write

DIR = os.path.join(OUT, "npy")
cases = []


def save(name, a, **kw):
    """Writes `a` as np.save does (kw may pick a format version) and records its values."""
    with open(os.path.join(DIR, name), "wb") as f:
        np.lib.format.write_array(f, a, **kw)
    exp = np.array(a, order="C")
    exp = exp.astype(exp.dtype.newbyteorder("="))
    cases.append(case(name, "npy", [], exp, params={"file": f"npy/{name}"}, rtol=0, atol=0))


def error(name, data, err):
    with open(os.path.join(DIR, name), "wb") as f:
        f.write(data)
    cases.append(case(name, "error", [], [], params={"file": f"npy/{name}", "error": err}))


def main():
    os.makedirs(DIR, exist_ok=True)
    for old in os.listdir(DIR):
        os.remove(os.path.join(DIR, old))
    rng = np.random.default_rng(7)

    # One C-order file per dtype, with the special float values.
    save("f4.npy", np.array([[1.5, -2.25, np.nan], [np.inf, -np.inf, -0.0]], dtype=np.float32))
    # Dyadic values: the tests' JSON parser (Foundation) does not round every decimal correctly.
    save("f8.npy", rng.integers(-4096, 4096, (3, 2)) / 64.0)
    save("i4.npy", np.array([0, -1, 2**31 - 1, -2**31], dtype=np.int32))
    save("i8.npy", np.array([[2**40, -2**52], [7, -8]], dtype=np.int64))
    save("b1.npy", np.array([[True, False, True], [False, False, True]]))
    # Fortran order: NumPy stores the transpose's C order and sets fortran_order.
    save("f4_fortran.npy", np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4)))
    save("i8_fortran.npy", np.asfortranarray(np.arange(6, dtype=np.int64).reshape(3, 2)))
    # Shapes at the edges.
    save("scalar.npy", np.array(3.25))
    save("empty.npy", np.zeros((0, 3), dtype=np.float32))
    save("empty_i8.npy", np.zeros((0,), dtype=np.int64))
    save("one.npy", np.array([42], dtype=np.int32))
    # Big-endian data, which readers must byte-swap.
    save("f4_be.npy", np.array([[1.0, -2.5], [3.75, 1e-3]], dtype=">f4"))
    save("f8_be.npy", np.array([np.pi, -1e300, 5e-324], dtype=">f8"))
    save("i4_be.npy", np.array([1, -2, 65536], dtype=">i4"))
    save("i8_be.npy", np.array([[1, -2], [2**50, -3]], dtype=">i8"))
    # Header versions 2.0 and 3.0 (4-byte header length).
    save("v2.npy", np.arange(5, dtype=np.float64), version=(2, 0))
    save("v3.npy", np.arange(4, dtype=np.int32).reshape(2, 2), version=(3, 0))

    # Archives: np.savez stores, np.savez_compressed deflates; both force zip64 local headers.
    npz = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([True, False]),
           "c": np.array(-7, dtype=np.int64), "d": np.asfortranarray(np.arange(6.0).reshape(2, 3))}
    np.savez(os.path.join(DIR, "stored.npz"), **npz)
    np.savez_compressed(os.path.join(DIR, "compressed.npz"), **npz)
    for name in ["stored.npz", "compressed.npz"]:
        for k, v in npz.items():
            cases.append(case(f"{name}:{k}", "npz", [], np.array(v, order="C"),
                              params={"file": f"npy/{name}", "key": k}, rtol=0, atol=0))

    # Malformed files.
    good = open(os.path.join(DIR, "f4.npy"), "rb").read()
    error("bad_magic.npy", b"NOTNUMPY" + good[8:], "notNPY")
    error("truncated.npy", good[:-5], "truncated")
    error("missing_key.npy", good.replace(b"'descr'", b"'dscr!'"), "badHeader")
    error("bad_syntax.npy", good.replace(b"(2, 3)", b"(2, x)"), "badHeader")
    error("short_header.npy", good[:40], "badHeader")
    error("bad_version.npy", good[:6] + b"\x07\x00" + good[8:], "unsupportedVersion")
    with open(os.path.join(DIR, "c8.npy"), "wb") as f:
        np.save(f, np.array([1 + 2j], dtype=np.complex64))
    cases.append(case("c8.npy", "error", [], [], params={"file": "npy/c8.npy", "error": "unsupportedDType"}))
    stored = open(os.path.join(DIR, "stored.npz"), "rb").read()
    error("bad_zip.npz", stored[: len(stored) // 2], "badZip")
    # Flip one data byte of the first entry: the CRC check must catch it.
    crc = bytearray(stored)
    crc[200] ^= 0xFF
    error("bad_crc.npz", bytes(crc), "badZip")
    # An entry that is not an npy file inside a valid zip.
    with zipfile.ZipFile(os.path.join(DIR, "bad_entry.npz"), "w") as z:
        z.writestr("x.npy", b"hello, not numpy")
    cases.append(case("bad_entry.npz", "error", [], [], params={"file": "npy/bad_entry.npz", "error": "notNPY"}))

    write("npy/expected", cases)


if __name__ == "__main__":
    main()
