#!/usr/bin/env python3
"""Reference optimiser, clipping and scheduler values from PyTorch: writes ../optim.json and
../lr_schedulers.json.

optim.json, op "problem": the fixed problem's inputs x [8, 3], y [8, 4] and starting parameters
w0 [3, 4], b0 [4]. op "train": 100 steps of an optimiser on it, loss ((x @ w + b).tanh() - y)^2
.mean(); expected the final w and b. params: "optimizer", "options" (keyword arguments, PyTorch names), optionally "groups"
(one options object per group; group 0 holds w, group 1 b), "clip" (clip_grad_norm_ max norm
applied before every step), "dtype".
op "clip_norm": inputs two gradients, params max_norm and norm_type; expected the total norm
(float64 scalar as [1]) and the clipped gradients. op "clip_value": expected the clamped gradients.

lr_schedulers.json, op "schedule": params "scheduler", "options", "group_lrs" (the SGD/Adam group
rates before scheduling), "optimizer", "steps", and for ReduceLROnPlateau "metrics"; expected[0]
the rates [steps + 1, groups] (after creation, then after each step) and, for OneCycleLR,
expected[1] the momentum (SGD) or beta1 (Adam) in the same layout.
"""
import numpy as np
import torch

import os as _os
import sys as _sys

# The shared fixture writer lives in Tests/MyelinTestSupport.
_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "MyelinTestSupport"))
from fixturelib import case, write

torch.set_num_threads(1)
g = torch.Generator().manual_seed(7)


def randn(*shape):
    return torch.randn(*shape, generator=g, dtype=torch.float32)


X = randn(8, 3)
Y = randn(8, 4) * 0.5
W0 = randn(3, 4) * 0.5
B0 = randn(4) * 0.1

OPTIMIZERS = {
    "sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
    "adagrad": torch.optim.Adagrad, "adadelta": torch.optim.Adadelta, "rmsprop": torch.optim.RMSprop,
}


def train(name, optimizer, options, groups=None, clip=None, dtype=torch.float32, steps=100, rtol=1e-5):
    x, y = X.to(dtype), Y.to(dtype)
    w = W0.to(dtype).clone().requires_grad_(True)
    b = B0.to(dtype).clone().requires_grad_(True)
    cls = OPTIMIZERS[optimizer]
    if groups:
        opt = cls([dict(params=[w], **groups[0]), dict(params=[b], **groups[1])], **options)
    else:
        opt = cls([w, b], **options)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((x @ w + b).tanh() - y).pow(2).mean()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_([w, b], clip)
        opt.step()
    params = {"optimizer": optimizer, "options": options, "dtype": str(dtype).replace("torch.", "")}
    if groups:
        params["groups"] = groups
    if clip is not None:
        params["clip"] = clip
    return case(name, "train", [], [w.detach().numpy(), b.detach().numpy()], params=params, rtol=rtol, atol=1e-6)


cases = [
    case("problem", "problem", [X.numpy(), Y.numpy(), W0.numpy(), B0.numpy()], []),
    train("sgd_plain", "sgd", {"lr": 0.1}),
    train("sgd_momentum", "sgd", {"lr": 0.05, "momentum": 0.9}),
    train("sgd_nesterov_wd", "sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    train("sgd_dampening_maximize", "sgd", {"lr": 0.02, "momentum": 0.8, "dampening": 0.3, "maximize": True}),
    train("adam_default", "adam", {"lr": 0.01}),
    train("adam_wd_amsgrad", "adam", {"lr": 0.01, "betas": [0.8, 0.99], "weight_decay": 0.1, "amsgrad": True}),
    train("adam_maximize_eps", "adam", {"lr": 0.005, "eps": 1e-6, "maximize": True}),
    train("adam_float64", "adam", {"lr": 0.01, "betas": [0.9, 0.99]}, dtype=torch.float64),
    train("adamw_default", "adamw", {"lr": 0.01}),
    train("adamw_wd_amsgrad", "adamw", {"lr": 0.01, "betas": [0.85, 0.995], "weight_decay": 0.1, "amsgrad": True}),
    train("adagrad_default", "adagrad", {"lr": 0.1}),
    train("adagrad_options", "adagrad",
          {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.05, "initial_accumulator_value": 0.1, "eps": 1e-8}),
    train("adadelta_default", "adadelta", {}),
    train("adadelta_options", "adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.01}),
    train("rmsprop_default", "rmsprop", {"lr": 0.003}),
    train("rmsprop_momentum", "rmsprop", {"lr": 0.003, "momentum": 0.5}),
    train("rmsprop_centered_momentum_wd", "rmsprop",
          {"lr": 0.005, "alpha": 0.9, "momentum": 0.9, "centered": True, "weight_decay": 0.01},
          # Centered RMSProp divides by sqrt(v - avg^2): float32 tanh's last-ulp differences
          # (PyTorch's, libm's and Myelin's own polynomial all differ) grow to ~2e-5 in 100 steps.
          rtol=5e-5),
    train("rmsprop_float64_centered", "rmsprop", {"lr": 0.01, "centered": True}, dtype=torch.float64),
    train("adam_groups", "adam", {"lr": 0.01}, groups=[{"lr": 0.02}, {"lr": 0.005, "weight_decay": 0.1}]),
    train("sgd_groups", "sgd", {"lr": 0.05, "momentum": 0.9}, groups=[{}, {"lr": 0.2, "momentum": 0.5}]),
    train("sgd_clip_norm", "sgd", {"lr": 0.5, "momentum": 0.9}, clip=0.05),
]

# Gradient clipping on fixed gradients.
G1, G2 = randn(3, 4), randn(5) * 3
for norm_type, max_norm in [(2.0, 0.5), (float("inf"), 0.3), (1.0, 100.0), (3.0, 0.5)]:
    a, c = torch.zeros(3, 4, requires_grad=True), torch.zeros(5, requires_grad=True)
    a.grad, c.grad = G1.clone(), G2.clone()
    total = torch.nn.utils.clip_grad_norm_([a, c], max_norm, norm_type=norm_type)
    tag = "inf" if norm_type == float("inf") else str(int(norm_type))
    cases.append(case(f"clip_norm_{tag}", "clip_norm", [G1.numpy(), G2.numpy()],
                      [np.array([total.item()]), a.grad.numpy(), c.grad.numpy()],
                      params={"max_norm": max_norm, "norm_type": "inf" if tag == "inf" else norm_type},
                      rtol=1e-5, atol=1e-7))
a, c = torch.zeros(3, 4, requires_grad=True), torch.zeros(5, requires_grad=True)
a.grad, c.grad = G1.clone(), G2.clone()
torch.nn.utils.clip_grad_value_([a, c], 0.4)
cases.append(case("clip_value", "clip_value", [G1.numpy(), G2.numpy()], [a.grad.numpy(), c.grad.numpy()],
                  params={"clip_value": 0.4}, rtol=0, atol=0))
write("optim", cases)

# Learning-rate schedules: the rates after creation and after each step.
SCHEDULERS = {
    "StepLR": torch.optim.lr_scheduler.StepLR, "MultiStepLR": torch.optim.lr_scheduler.MultiStepLR,
    "ExponentialLR": torch.optim.lr_scheduler.ExponentialLR,
    "CosineAnnealingLR": torch.optim.lr_scheduler.CosineAnnealingLR, "LinearLR": torch.optim.lr_scheduler.LinearLR,
    "OneCycleLR": torch.optim.lr_scheduler.OneCycleLR, "ReduceLROnPlateau": torch.optim.lr_scheduler.ReduceLROnPlateau,
}


def schedule(name, scheduler, options, steps, group_lrs=(0.1, 0.01), optimizer="sgd", opt_options=None,
             metrics=None):
    params = [torch.zeros(2, requires_grad=True) for _ in group_lrs]
    opt = OPTIMIZERS[optimizer]([{"params": [p], "lr": lr} for p, lr in zip(params, group_lrs)], **(opt_options or {}))
    sched = SCHEDULERS[scheduler](opt, **options)

    def momenta():
        return [gr["betas"][0] if "betas" in gr else gr.get("momentum", 0.0) for gr in opt.param_groups]

    lrs, moms = [list(sched.get_last_lr())], [momenta()]
    for i in range(steps):
        opt.step()
        if metrics is not None:
            sched.step(metrics[i])
        else:
            sched.step()
        lrs.append(list(sched.get_last_lr()))
        moms.append(momenta())
    expected = [np.array(lrs, dtype=np.float64)]
    if scheduler == "OneCycleLR":
        expected.append(np.array(moms, dtype=np.float64))
    p = {"scheduler": scheduler, "options": options, "group_lrs": list(group_lrs), "optimizer": optimizer,
         "opt_options": opt_options or {}, "steps": steps}
    if metrics is not None:
        p["metrics"] = metrics
    return case(name, "schedule", [], expected, params=p, rtol=1e-12, atol=0)


PLATEAU = [1.0, 0.9, 0.95, 0.92, 0.91, 0.905, 0.8, 0.85, 0.84, 0.83, 0.83, 0.9, 0.79, 0.795, 0.8, 0.81, 0.82, 0.83,
           0.84, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9]
sched_cases = [
    schedule("step", "StepLR", {"step_size": 3, "gamma": 0.5}, 20),
    schedule("multistep", "MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.3}, 15),
    schedule("exponential", "ExponentialLR", {"gamma": 0.9}, 20),
    schedule("cosine", "CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}, 35),
    schedule("linear_warmup", "LinearLR", {"start_factor": 0.25, "end_factor": 1.0, "total_iters": 8}, 12),
    schedule("linear_decay", "LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 5}, 9),
    schedule("onecycle_cos_sgd", "OneCycleLR", {"max_lr": 1.0, "total_steps": 30}, 30,
             opt_options={"momentum": 0.9}),
    schedule("onecycle_linear_adam", "OneCycleLR",
             {"max_lr": 0.01, "total_steps": 20, "pct_start": 0.25, "anneal_strategy": "linear", "div_factor": 10.0,
              "final_div_factor": 100.0, "base_momentum": 0.8, "max_momentum": 0.9}, 20, optimizer="adam"),
    schedule("onecycle_no_momentum", "OneCycleLR",
             {"max_lr": 0.5, "total_steps": 15, "pct_start": 0.4, "cycle_momentum": False}, 15),
    schedule("plateau_min_rel", "ReduceLROnPlateau",
             {"mode": "min", "factor": 0.5, "patience": 2, "threshold": 0.01, "cooldown": 1, "min_lr": 0.002},
             len(PLATEAU), metrics=PLATEAU),
    schedule("plateau_max_abs", "ReduceLROnPlateau",
             {"mode": "max", "factor": 0.3, "patience": 1, "threshold": 0.02, "threshold_mode": "abs"},
             len(PLATEAU), metrics=PLATEAU),
]
write("lr_schedulers", sched_cases)
