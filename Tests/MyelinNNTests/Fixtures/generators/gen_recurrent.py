#!/usr/bin/env python3
"""Recurrent layers from PyTorch (nn.RNN, nn.LSTM, nn.GRU and the cells): writes ../recurrent.json.

Everything is float64. Each layer case records, for a fixed loss
    sum(output * R) + sum(h_n * S) [+ sum(c_n * Sc)]
the output, h_n (and c_n), then the gradients of the input, of the initial states when given,
and of every parameter in state_dict order.

Case layout (RecurrentTests reads it in this order):
  params:   kind, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, projSize,
            lengths (or absent), hasState, names (the state_dict names, in order)
  inputs:   x, then the parameters (in `names` order), then h0, c0 when hasState, then R, S (, Sc)
  expected: output, h_n (, c_n), x.grad (, h0.grad, c0.grad), parameter grads in `names` order
Cell cases (op rnnCell, lstmCell, gruCell) are one step: x [batch, in], the state given, the loss
sum(h' * S) (+ sum(c' * Sc)); inputs x, parameters, h (, c), S (, Sc); expected h' (, c'),
x.grad, h.grad (, c.grad), parameter grads.
Variable lengths go through pack_padded_sequence(enforce_sorted=False) and pad_packed_sequence.
"""
import os as _os
import sys as _sys

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "MyelinTestSupport"))
from fixturelib import case, write

torch.manual_seed(14)
rng = np.random.default_rng(14)
cases = []


def f64(*shape):
    return rng.standard_normal(shape)


def layer_case(name, kind, input_size=4, hidden=5, layers=1, bias=True, batch_first=False, bidirectional=False,
               proj=0, lengths=None, state=False, steps=5, batch=3):
    kwargs = dict(num_layers=layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional)
    if kind == "lstm":
        m = torch.nn.LSTM(input_size, hidden, proj_size=proj, **kwargs)
    elif kind == "gru":
        m = torch.nn.GRU(input_size, hidden, **kwargs)
    else:
        m = torch.nn.RNN(input_size, hidden, nonlinearity="tanh" if kind == "rnnTanh" else "relu", **kwargs)
    m = m.double()
    names = list(m.state_dict().keys())
    params = dict(m.named_parameters())
    dirs = 2 if bidirectional else 1
    state_size = proj if proj > 0 else hidden
    x = f64(batch, steps, input_size) if batch_first else f64(steps, batch, input_size)
    xt = torch.from_numpy(x).requires_grad_(True)
    h0 = c0 = None
    inputs = [x] + [params[n].detach().numpy().copy() for n in names]
    if state:
        h0 = torch.from_numpy(f64(layers * dirs, batch, state_size)).requires_grad_(True)
        inputs.append(h0.detach().numpy().copy())
        if kind == "lstm":
            c0 = torch.from_numpy(f64(layers * dirs, batch, hidden)).requires_grad_(True)
            inputs.append(c0.detach().numpy().copy())
    hx = None if not state else ((h0, c0) if kind == "lstm" else h0)
    if lengths is not None:
        packed = pack_padded_sequence(xt, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
        out, hn = m(packed, hx)
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=steps)
    else:
        out, hn = m(xt, hx)
    if kind == "lstm":
        hn, cn = hn
    R = f64(*out.shape)
    S = f64(*hn.shape)
    loss = (out * torch.from_numpy(R)).sum() + (hn * torch.from_numpy(S)).sum()
    weights = [R, S]
    if kind == "lstm":
        Sc = f64(*cn.shape)
        loss = loss + (cn * torch.from_numpy(Sc)).sum()
        weights.append(Sc)
    loss.backward()
    expected = [out.detach().numpy(), hn.detach().numpy()]
    if kind == "lstm":
        expected.append(cn.detach().numpy())
    expected.append(xt.grad.numpy())
    if state:
        expected.append(h0.grad.numpy())
        if kind == "lstm":
            expected.append(c0.grad.numpy())
    expected += [params[n].grad.numpy() for n in names]
    p = dict(kind=kind, inputSize=input_size, hiddenSize=hidden, numLayers=layers, bias=bias, batchFirst=batch_first,
             bidirectional=bidirectional, projSize=proj, hasState=state, names=names)
    if lengths is not None:
        p["lengths"] = list(lengths)
    cases.append(case(name, kind, inputs + weights, expected, params=p, rtol=1e-10, atol=1e-10))


def cell_case(name, kind, input_size=4, hidden=5, bias=True, batch=3):
    if kind == "lstmCell":
        m = torch.nn.LSTMCell(input_size, hidden, bias=bias)
    elif kind == "gruCell":
        m = torch.nn.GRUCell(input_size, hidden, bias=bias)
    else:
        m = torch.nn.RNNCell(input_size, hidden, bias=bias, nonlinearity="tanh" if kind == "rnnCell" else "relu")
    m = m.double()
    names = list(m.state_dict().keys())
    params = dict(m.named_parameters())
    x = f64(batch, input_size)
    xt = torch.from_numpy(x).requires_grad_(True)
    h = torch.from_numpy(f64(batch, hidden)).requires_grad_(True)
    inputs = [x] + [params[n].detach().numpy().copy() for n in names] + [h.detach().numpy().copy()]
    if kind == "lstmCell":
        c = torch.from_numpy(f64(batch, hidden)).requires_grad_(True)
        inputs.append(c.detach().numpy().copy())
        h1, c1 = m(xt, (h, c))
    else:
        h1 = m(xt, h)
    S = f64(batch, hidden)
    loss = (h1 * torch.from_numpy(S)).sum()
    weights = [S]
    expected = [h1.detach().numpy()]
    if kind == "lstmCell":
        Sc = f64(batch, hidden)
        loss = loss + (c1 * torch.from_numpy(Sc)).sum()
        weights.append(Sc)
        expected.append(c1.detach().numpy())
    loss.backward()
    expected += [xt.grad.numpy(), h.grad.numpy()]
    if kind == "lstmCell":
        expected.append(c.grad.numpy())
    expected += [params[n].grad.numpy() for n in names]
    op = "rnnCell" if kind == "rnnReluCell" else kind
    p = dict(kind=kind, inputSize=input_size, hiddenSize=hidden, bias=bias, names=names,
             nonlinearity="relu" if kind == "rnnReluCell" else "tanh")
    cases.append(case(name, op, inputs + weights, expected, params=p, rtol=1e-10, atol=1e-10))


layer_case("rnnTanh/timeFirst", "rnnTanh")
layer_case("rnnRelu/2layers-batchFirst-state", "rnnRelu", layers=2, batch_first=True, state=True)
layer_case("rnnTanh/bidirectional-lengths", "rnnTanh", bidirectional=True, lengths=[5, 2, 4])
layer_case("lstm/timeFirst", "lstm")
layer_case("lstm/2layers-bidirectional-batchFirst-state", "lstm", layers=2, batch_first=True, bidirectional=True,
           state=True)
layer_case("lstm/proj-2layers-bidirectional-state", "lstm", layers=2, bidirectional=True, proj=3, state=True)
layer_case("lstm/lengths-2layers-bidirectional-batchFirst-state", "lstm", layers=2, batch_first=True,
           bidirectional=True, lengths=[5, 2, 4], state=True)
layer_case("lstm/lengths-timeFirst-noBias-proj", "lstm", bias=False, proj=2, lengths=[3, 4, 1], steps=4)
layer_case("gru/noBias", "gru", bias=False)
layer_case("gru/2layers-bidirectional-batchFirst-state", "gru", layers=2, batch_first=True, bidirectional=True,
           state=True)
layer_case("gru/lengths-bidirectional-timeFirst", "gru", bidirectional=True, lengths=[2, 5, 3])
layer_case("lstm/oneStep-batchOne", "lstm", steps=1, batch=1, state=True)
cell_case("rnnCell/tanh", "rnnCell")
cell_case("rnnCell/relu-noBias", "rnnReluCell", bias=False)
cell_case("lstmCell/bias", "lstmCell")
cell_case("gruCell/bias", "gruCell")
cell_case("gruCell/noBias", "gruCell", bias=False)

write("recurrent", cases)
