"""Writes the PyTorch checkpoint fixtures of PyTorchCheckpointTests (and the ResNet-style network of
MyelinNNTests' PyTorchCheckpointModelTests).

(a) Real files from torch.save: every storage dtype, views (transposed, strided, overlapping slices of
    one storage, a scalar, an empty and an expanded tensor), nested dicts, a wrapped {"state_dict": ...},
    Parameters, a module state dict (OrderedDict with _metadata), protocol 4, a big-endian copy.
    Each has a case (op "load") with params.file, params.names (the order the reader must keep) and
    the expected tensors, converted to the dtypes Myelin reads them as (half/bfloat16 -> float32,
    int16/int8/uint8 -> int32).
(b) Malicious or broken files: hand-written pickles inside otherwise valid zip archives, a truncated
    archive, the legacy format. Each has a case (op "error") whose params.message is a fragment the
    error must contain.
Run from anywhere: python3 Tests/MyelinCoreTests/Fixtures/generators/gen_pytorch_checkpoints.py
"""
import collections
import io
import json
import os
import struct
import sys
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "MyelinTestSupport"))
from fixturelib import OUT, case, tensor, write  # noqa: E402

DIR = os.path.join(OUT, "pytorch")
NN_DIR = os.path.join(OUT, "..", "..", "MyelinNNTests", "Fixtures")
cases = []


def expected_array(t):
    """The values Myelin reads: half and bfloat16 as float32, the small integers as int32."""
    t = t.detach().contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    if t.dtype in (torch.int16, torch.int8, torch.uint8):
        t = t.int()
    return t.numpy()


def save(name, obj, expected, **kw):
    """torch.save(obj) and a case with the (name, tensor) pairs the reader must return, in order."""
    torch.save(obj, os.path.join(DIR, name), **kw)
    record(name, expected)


def record(name, expected):
    cases.append(case(name, "load", [], [expected_array(t) for _, t in expected],
                      params={"file": f"pytorch/{name}", "names": [n for n, _ in expected]}, rtol=0, atol=0))


def error(name, data, message):
    with open(os.path.join(DIR, name), "wb") as f:
        f.write(data)
    cases.append(case(name, "error", [], [], params={"file": f"pytorch/{name}", "message": message}))


def put(z, name, data):
    """Adds an entry dated 1980-01-01, so that running the generator again gives the same bytes."""
    z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, compress_type=z.compression)


def archive(pkl, storages=None, byteorder=b"little", top="archive", extra=None, deflate=False):
    """A zip laid out as torch.save's: top/data.pkl, top/byteorder, top/data/<key>, top/version
    (deflated, unlike torch.save's, when `deflate`: it keeps the long pickles small)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as z:
        put(z, f"{top}/data.pkl", pkl)
        if byteorder is not None:
            put(z, f"{top}/byteorder", byteorder)
        for key, data in (storages or {}).items():
            put(z, f"{top}/data/{key}", data)
        for key, data in (extra or {}).items():
            put(z, f"{top}/{key}", data)
        put(z, f"{top}/version", b"3\n")
    return buf.getvalue()


# Hand-written pickle opcodes (protocol 2, as torch.save writes them).
def U(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def N(n):
    """An integer as LONG1 (any width)."""
    if n == 0:
        return b"\x8a\x00"
    length = (n.bit_length() + 8) // 8
    return b"\x8a" + bytes([length]) + n.to_bytes(length, "little", signed=True)


def G(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def T(items):
    return b"(" + b"".join(items) + b"t"


def pid(kind, key, numel):
    return T([U("storage"), G("torch", kind), U(key), U("cpu"), N(numel)]) + b"Q"


def rebuilt(kind="FloatStorage", key="0", numel=6, offset=0, size=(6,), stride=(1,)):
    args = [pid(kind, key, numel), N(offset), T([N(s) for s in size]), T([N(s) for s in stride]), b"\x89",
            G("collections", "OrderedDict") + b")R"]
    return G("torch._utils", "_rebuild_tensor_v2") + T(args) + b"R"


def pickle(body, proto=2):
    return b"\x80" + bytes([proto]) + body + b"."


def state(items):
    return b"}(" + b"".join(U(k) + v for k, v in items) + b"u"


SIX_FLOATS = np.arange(6, dtype="<f4").tobytes()


def valid_files():
    torch.manual_seed(0)
    dtypes = {
        "f32": torch.randn(2, 3),
        "f64": torch.randn(3, dtype=torch.float64),
        "f16": torch.tensor([1.5, -2.25, 65504, 6e-8, float("inf"), -0.0, float("nan")], dtype=torch.float16),
        "bf16": torch.tensor([1.5, -3.0e38, 1e-39, float("-inf"), 0.1], dtype=torch.bfloat16),
        "i64": torch.tensor([-(2 ** 40), 7, 0, 2 ** 52]),
        "i32": torch.tensor([-(2 ** 31), 2 ** 31 - 1, 5], dtype=torch.int32),
        "i16": torch.tensor([-32768, 32767, -1], dtype=torch.int16),
        "i8": torch.tensor([-128, 127, 0], dtype=torch.int8),
        "u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "bool": torch.tensor([[True, False], [False, True]]),
    }
    save("dtypes.pt", dtypes, list(dtypes.items()))

    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    views = collections.OrderedDict([
        ("transposed", base.t()),
        ("rows", base[1:3]),
        ("every_other_column", base[:, ::2]),
        ("row0", base[0]),
        ("overlapping", base[1:, 2:4]),
        ("scalar", torch.tensor(3.5)),
        ("empty", torch.zeros(0, 3)),
        ("expanded", torch.tensor([1.0, 2.0]).expand(3, 2)),
        ("tail", torch.arange(10)[4:]),
    ])
    save("views.pt", views, list(views.items()))

    w, b, ea, step = torch.randn(2, 2), torch.randn(2), torch.randn(2, 2), torch.tensor(3.0)
    nested = {
        "model": collections.OrderedDict([("w", w), ("b", b)]),
        "optimizer": {"state": {0: {"step": step, "exp_avg": ea}}, "param_groups": [{"lr": 0.01, "params": [0, 1]}]},
        "epoch": 7,
        "name": "run",
        "scores": [torch.tensor([1.0, 2.0])],
    }
    save("nested.pt", nested, [("model.w", w), ("model.b", b), ("optimizer.state.0.step", step),
                               ("optimizer.state.0.exp_avg", ea), ("scores.0", nested["scores"][0])])

    fw, fb = torch.randn(3, 2), torch.randn(3)
    wrapped = {"epoch": 2, "state_dict": {"fc.weight": fw, "fc.bias": fb}, "optimizer": {"state": {0: {"m": torch.ones(1)}}}}
    save("wrapped.pt", wrapped, [("fc.weight", fw), ("fc.bias", fb)])

    params = {"p": torch.nn.Parameter(torch.randn(2, 2)), "q": torch.nn.Parameter(torch.ones(3), requires_grad=False)}
    save("parameters.pt", params, list(params.items()))

    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    sd = module.state_dict()
    save("module.pt", sd, list(sd.items()))
    save("protocol4.pt", sd, list(sd.items()), pickle_protocol=4)

    # Big-endian: the same bytes a big-endian machine's torch.save would write (byteorder "big",
    # every element byte-swapped). Storages are numbered in the order the dict meets them.
    big = collections.OrderedDict([("f32", torch.tensor([1.5, -2.0])), ("i64", torch.tensor([1, -2, 2 ** 40])),
                                   ("f16", torch.tensor([0.5, -1.0], dtype=torch.float16)),
                                   ("i16", torch.tensor([258, -3], dtype=torch.int16)), ("bool", torch.tensor([True, False]))])
    raw = io.BytesIO()
    torch.save(big, raw)
    src = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    sizes = {str(i): t.element_size() for i, t in enumerate(big.values())}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            top, _, rest = info.filename.partition("/")
            if rest == "byteorder":
                data = b"big"
            elif rest.startswith("data/"):
                size = sizes[rest[5:]]
                if size > 1:
                    data = np.frombuffer(data, dtype=f"<u{size}").byteswap().tobytes()
            put(z, "bigendian/" + rest, data)
    with open(os.path.join(DIR, "bigendian.pt"), "wb") as f:
        f.write(out.getvalue())
    record("bigendian.pt", list(big.items()))

    # Another top folder name and an archive whose byteorder entry is missing (PyTorch < 1.10 wrote none:
    # little-endian).
    error_free = archive(pickle(state([("x", rebuilt())])), {"0": SIX_FLOATS}, byteorder=None, top="my_model")
    with open(os.path.join(DIR, "no_byteorder.pt"), "wb") as f:
        f.write(error_free)
    record("no_byteorder.pt", [("x", torch.arange(6, dtype=torch.float32))])
    # One storage read as two dtypes (torch.save never writes this, torch.load reinterprets the bytes).
    with open(os.path.join(DIR, "two_dtypes_one_storage.pt"), "wb") as f:
        f.write(archive(pickle(state([("x", rebuilt()), ("y", rebuilt(kind="IntStorage"))])), {"0": SIX_FLOATS}))
    record("two_dtypes_one_storage.pt", [("x", torch.arange(6, dtype=torch.float32)),
                                         ("y", torch.arange(6, dtype=torch.float32).view(torch.int32))])
    return dtypes


def malicious_files(dtypes):
    six = {"0": SIX_FLOATS}
    pwn = U("echo pwned > /tmp/myelin-pwned") + b"\x85R"
    error("os_system.pt", archive(pickle(G("os", "system") + pwn)), "global os.system is not allowed")
    stack_global = b"\x8c\x02os\x94\x8c\x06system\x94\x93\x94"
    error("os_system_stack_global.pt", archive(pickle(stack_global + pwn, proto=4)), "global os.system is not allowed")
    error("builtins_eval.pt", archive(pickle(G("builtins", "eval") + U("__import__('os').system('echo pwned')") + b"\x85R")),
          "global builtins.eval is not allowed")
    error("subprocess.pt", archive(pickle(G("subprocess", "check_output") + T([U("ls")]) + b"\x85R")),
          "global subprocess.check_output is not allowed")
    error("newobj_unknown_class.pt", archive(pickle(G("__main__", "Evil") + b")\x81")), "global __main__.Evil is not allowed")
    error("newobj_storage.pt", archive(pickle(G("torch", "FloatStorage") + b")\x81")),
          "NEWOBJ of torch.FloatStorage is not allowed")
    error("newobj_ordereddict_subclass.pt", archive(pickle(G("torch._utils", "_rebuild_tensor_v2") + b")\x81")),
          "NEWOBJ of torch._utils._rebuild_tensor_v2 is not allowed")
    error("reduce_storage.pt", archive(pickle(G("torch", "FloatStorage") + b")R")), "torch.FloatStorage cannot be called")
    error("build_on_tensor.pt", archive(pickle(rebuilt() + b"}" + U("__class__") + U("x") + b"sb"), six),
          "BUILD on a tensor is not allowed")
    error("complex_storage.pt", archive(pickle(state([("z", rebuilt(kind="ComplexFloatStorage"))])), six),
          "torch.ComplexFloatStorage")
    error("storage_oversized.pt", archive(pickle(state([("x", rebuilt(numel=1000, size=(1000,)))])), six),
          "storage 0 needs 4000 bytes but data/0 has 24")
    error("view_past_storage.pt", archive(pickle(state([("x", rebuilt(size=(10,)))])), six),
          "reaches element 9 of a storage of 6")
    error("view_offset_past_storage.pt", archive(pickle(state([("x", rebuilt(offset=4, size=(2, 2), stride=(2, 1)))])), six),
          "reaches element 7 of a storage of 6")
    error("negative_stride.pt", archive(pickle(state([("x", rebuilt(size=(3,), stride=(-1,), offset=5))])), six),
          "negative stride")
    error("negative_offset.pt", archive(pickle(state([("x", rebuilt(offset=-1, size=(2,)))])), six),
          "negative storage offset -1")
    error("negative_size.pt", archive(pickle(state([("x", rebuilt(size=(-2,)))])), six), "negative size")
    error("huge_size.pt", archive(pickle(state([("x", rebuilt(size=(2 ** 62, 2 ** 62), stride=(0, 0)))])), six),
          "elements overflow")
    error("huge_numel.pt", archive(pickle(state([("x", rebuilt(numel=2 ** 62, size=(2,)))])), six),
          "storage 0 of 4611686018427387904 elements")
    error("wide_integer.pt", archive(pickle(state([("x", rebuilt(numel=2 ** 80))])), six), "wider than 64 bits")
    error("deep_nesting.pt", archive(pickle(b"]" * 100000 + b"a" * 99999), deflate=True), "nested more than 100 levels")
    error("deep_marks.pt", archive(pickle(b"(" * 100000), deflate=True), "more than 10000 open MARKs")
    error("cycle.pt", archive(pickle(b"]q\x00h\x00a")), "nested more than 100 levels")
    # {a: d, b: d} forty times over: 2^40 paths to one tensor.
    bomb = state([("t", rebuilt())]) + b"q\x00"
    for i in range(1, 41):
        bomb = b"}(" + U("a") + bomb + U("b") + b"h" + bytes([i - 1]) + b"uq" + bytes([i])
    error("dag_bomb.pt", archive(pickle(bomb), six), "more than 1000000 entries")
    error("bad_memo.pt", archive(pickle(b"h\x05")), "memo slot 5 is empty")
    error("unknown_opcode.pt", archive(pickle(b"\xff")), "unknown opcode 0xff")
    error("no_stop.pt", archive(b"\x80\x02" + state([("x", rebuilt())])[:-3], six), "pickle ends")
    error("empty_stack_reduce.pt", archive(pickle(b"R")), "stack")
    error("byteorder_middle.pt", archive(pickle(state([("x", rebuilt())])), six, byteorder=b"middle"),
          "byteorder is \"middle\"")
    error("no_data_pkl.pt", archive(b"", extra={}).replace(b"archive/data.pkl", b"archive/note.txt"), "no data.pkl")
    error("not_a_zip.pt", b"this is not a checkpoint\n" * 4, "not a zip archive")
    with open(os.path.join(DIR, "dtypes.pt"), "rb") as f:
        good = f.read()
    error("truncated.pt", good[: len(good) * 3 // 5], "bad zip")
    dup = io.BytesIO()
    torch.save({"a.b": torch.ones(1), "a": {"b": torch.zeros(1)}}, dup)
    error("duplicate_names.pt", dup.getvalue(), "two tensors are named a.b")
    # The legacy format keys storages by memory address: this one file differs on every run.
    legacy = io.BytesIO()
    torch.save({"x": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    error("legacy.pt", legacy.getvalue(), "re-save it with PyTorch 1.6 or later")
    # A TorchScript archive's data.pkl names its own classes.
    error("torchscript_class.pt", archive(pickle(G("__torch__.Net", "Net") + b")\x81")), "this looks like a TorchScript archive")
    # A stride far past the storage on a size-1 axis reads nothing out of bounds: PyTorch allows it.
    with open(os.path.join(DIR, "huge_stride_size1.pt"), "wb") as f:
        f.write(archive(pickle(state([("x", rebuilt(offset=1, size=(1, 2), stride=(2 ** 63 - 1, 1)))])), six))
    record("huge_stride_size1.pt", [("x", torch.tensor([[1.0, 2.0]]))])


class Block(torch.nn.Module):
    """A residual block: conv-bn-relu-conv-bn, plus the input, then relu."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(c)
        self.conv2 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(c)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(y)))


class SmallResNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn = torch.nn.BatchNorm2d(4)
        self.block = Block(4)
        self.down = torch.nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, x):
        x = self.block(torch.relu(self.bn(self.stem(x))))
        x = torch.relu(self.down(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def resnet():
    torch.manual_seed(17)
    net = SmallResNet()
    # Running statistics far from 0 and 1, so that a test which ignored them would fail.
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            m.num_batches_tracked.fill_(12)
    net.eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        y = net(x)
    torch.save(net.state_dict(), os.path.join(NN_DIR, "pytorch_resnet.pt"))
    c = {"name": "pytorch_resnet", "op": "forward", "inputs": [tensor(x.numpy())], "expected": [tensor(y.numpy())],
         "params": {"file": "pytorch_resnet.pt", "names": list(net.state_dict().keys())}, "rtol": 1e-5, "atol": 1e-5}
    path = os.path.join(NN_DIR, "pytorch_resnet.json")
    with open(path, "w") as f:
        json.dump({"generator": os.path.basename(sys.argv[0]), "torch": torch.__version__, "cases": [c]}, f,
                  separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(path)}")


def main():
    os.makedirs(DIR, exist_ok=True)
    dtypes = valid_files()
    malicious_files(dtypes)
    write("pytorch/expected", cases)
    resnet()


if __name__ == "__main__":
    main()
