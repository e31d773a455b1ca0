#!/usr/bin/env python3
"""Safetensors files between PyTorch and Myelin: writes ../torch_model.safetensors and ../safetensors.json.

1. A PyTorch model (Linear 4->8, ReLU, BatchNorm1d(8), Linear 8->3), trained one step in train mode
   so the running statistics move, saved with safetensors.torch.save_file; its eval output on a fixed
   input is recorded for the Swift test that loads the file.
2. ../myelin_model.safetensors, written by Myelin (run the Swift tests once with
   MYELIN_WRITE_FIXTURES=1 to create it), is loaded into the same architecture with strict=True and
   PyTorch's eval output on the same input is recorded, proving PyTorch reads Myelin's file.
"""
import os

import numpy as np
import torch
from safetensors.torch import load_file, save_file

import os as _os
import sys as _sys

# The shared fixture writer lives in Tests/MyelinTestSupport.
_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "MyelinTestSupport"))
from fixturelib import OUT, case, write

torch.manual_seed(0)
x = torch.tensor([[0.5, -1.0, 2.0, 0.25], [1.5, 0.0, -0.5, -2.0]])


def arch():
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 3))


cases = []
model = arch()
model.train()
model(torch.randn(16, 4) * 2 + 1)  # moves the running statistics
model.eval()
save_file(model.state_dict(), os.path.join(OUT, "torch_model.safetensors"))
with torch.no_grad():
    cases.append(case("torch_model_output", "output", [x.numpy()], model(x).numpy()))

mine = os.path.join(OUT, "myelin_model.safetensors")
if os.path.exists(mine):
    other = arch()
    other.load_state_dict(load_file(mine), strict=True)
    other.eval()
    with torch.no_grad():
        cases.append(case("myelin_model_torch_output", "output", [x.numpy()], other(x).numpy()))
else:
    print("myelin_model.safetensors missing: run MYELIN_WRITE_FIXTURES=1 swift test --filter writesTheFilePyTorchLoads first")

write("safetensors", cases)
