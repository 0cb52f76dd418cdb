#!/usr/bin/env python3
"""Records PyTorch's own observer and fake-quantize results as golden values for the C# tests.

Run with Debian's python3-torch (1.13, the torch.ao.quantization API):
    /usr/bin/python3 tests/TestData/pytorch/record_observers.py
It writes observer_golden.json next to this script. Every input is generated here from a fixed seed and stored in the
JSON, so the C# tests read the very float32 values torch saw. Float32 values (inputs, scales, eps, outputs) are stored
as the hex of their IEEE 754 bits, so nothing is lost to decimal printing.
"""
import json
import os
import re
import struct

import torch
from torch.ao.quantization.observer import (
    HistogramObserver,
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    PerChannelMinMaxObserver,
)

torch.manual_seed(20240611)
EPS_2_12 = 2.0 ** -12


def bits(values):
    """float32 values (tensor or list) as 8-digit hex of their bits."""
    if isinstance(values, torch.Tensor):
        values = values.detach().to(torch.float32).flatten().tolist()
    return ["%08x" % struct.unpack("<I", struct.pack("<f", v))[0] for v in values]


def f32(v):
    """A Python float rounded to float32, as torch holds eps."""
    return struct.unpack("<f", struct.pack("<f", v))[0]


def tensor_json(t):
    return {"shape": list(t.shape), "values": bits(t)}


def options_json(dtype, qscheme, reduce_range=False, quant_min=None, quant_max=None, eps=None, ch_axis=None):
    return {
        "dtype": {torch.quint8: "uint8", torch.qint8: "int8"}[dtype],
        "qscheme": {
            torch.per_tensor_affine: "per_tensor_affine",
            torch.per_tensor_symmetric: "per_tensor_symmetric",
            torch.per_channel_affine: "per_channel_affine",
            torch.per_channel_symmetric: "per_channel_symmetric",
        }[qscheme],
        "reduce_range": reduce_range,
        "quant_min": quant_min,
        "quant_max": quant_max,
        "eps": bits([f32(eps if eps is not None else torch.finfo(torch.float32).eps)])[0],
        "ch_axis": ch_axis,
    }


def observe(name, kind, make, options, batches, extra=None):
    """Feeds the batches one by one and records qparams (and the observed range) after each."""
    obs = make()
    steps = []
    for batch in batches:
        obs(batch)
        scale, zero_point = obs.calculate_qparams()
        steps.append({
            "scale": bits(scale.reshape(-1)),
            "zero_point": [int(z) for z in zero_point.reshape(-1).tolist()],
            "min": bits(obs.min_val.reshape(-1)),
            "max": bits(obs.max_val.reshape(-1)),
        })
        if isinstance(obs, HistogramObserver):
            steps[-1]["histogram"] = bits(obs.histogram)
    case = {"name": name, "observer": kind, "options": options, "batches": [tensor_json(b) for b in batches], "steps": steps}
    if extra:
        case.update(extra)
    return case


def minmax_case(name, batches, dtype, qscheme, **kw):
    return observe(name, "MinMaxObserver", lambda: MinMaxObserver(dtype=dtype, qscheme=qscheme, **kw),
                   options_json(dtype, qscheme, **kw), batches)


def histogram_case(name, batches, dtype=torch.quint8, qscheme=torch.per_tensor_affine, **kw):
    return observe(name, "HistogramObserver", lambda: HistogramObserver(dtype=dtype, qscheme=qscheme, **kw),
                   options_json(dtype, qscheme, **kw), batches, {"bins": 2048})


def randn(*shape, scale=1.0, shift=0.0):
    return (torch.randn(*shape) * scale + shift).to(torch.float32)


observers = []

# MinMaxObserver: the X86 activation config (uint8 [0, 255] affine, eps 2^-12), its 7-bit form, reduce_range, symmetric int8.
act = randn(4, 3, 5, 5, scale=1.7, shift=0.4)
pos = torch.relu(randn(2, 64, scale=3.0))
observers.append(minmax_case("minmax_uint8_affine_x86", [act], torch.quint8, torch.per_tensor_affine,
                             quant_min=0, quant_max=255, eps=EPS_2_12))
observers.append(minmax_case("minmax_uint8_affine_x86_7bit", [act], torch.quint8, torch.per_tensor_affine,
                             quant_min=0, quant_max=127, eps=EPS_2_12))
observers.append(minmax_case("minmax_uint8_affine_default", [act, randn(3, 7, scale=4.0)], torch.quint8, torch.per_tensor_affine))
observers.append(minmax_case("minmax_uint8_affine_reduce_range", [act], torch.quint8, torch.per_tensor_affine, reduce_range=True))
observers.append(minmax_case("minmax_uint8_affine_nonnegative", [pos], torch.quint8, torch.per_tensor_affine, eps=EPS_2_12))
observers.append(minmax_case("minmax_int8_symmetric", [act], torch.qint8, torch.per_tensor_symmetric))
observers.append(minmax_case("minmax_int8_symmetric_reduce_range", [act], torch.qint8, torch.per_tensor_symmetric, reduce_range=True))
observers.append(minmax_case("minmax_int8_symmetric_full_range", [act], torch.qint8, torch.per_tensor_symmetric,
                             quant_min=-128, quant_max=127, eps=EPS_2_12))
observers.append(minmax_case("minmax_uint8_symmetric", [act], torch.quint8, torch.per_tensor_symmetric))
observers.append(minmax_case("minmax_tiny_range_hits_eps", [torch.full((10,), 1e-4) * torch.arange(10)], torch.quint8,
                             torch.per_tensor_affine, eps=EPS_2_12))

# PerChannelMinMaxObserver, axis 0: the X86 weight config (int8 [-128, 127] symmetric) and affine uint8; one channel all
# zeros and one with a tiny range, so eps decides.
weight = randn(6, 3, 3, 3, scale=0.2)
weight[2] = 0.0
weight[4] = weight[4] * 1e-6
for name, dtype, qscheme, kw in [
    ("perchannel_int8_symmetric_x86", torch.qint8, torch.per_channel_symmetric, dict(quant_min=-128, quant_max=127, eps=2.0 ** -40)),
    ("perchannel_int8_symmetric_default", torch.qint8, torch.per_channel_symmetric, {}),
    ("perchannel_uint8_affine", torch.quint8, torch.per_channel_affine, {}),
    ("perchannel_int8_symmetric_reduce_range", torch.qint8, torch.per_channel_symmetric, dict(reduce_range=True)),
]:
    observers.append(observe(name, "PerChannelMinMaxObserver",
                             lambda dtype=dtype, qscheme=qscheme, kw=kw: PerChannelMinMaxObserver(ch_axis=0, dtype=dtype, qscheme=qscheme, **kw),
                             options_json(dtype, qscheme, ch_axis=0, **kw), [weight, randn(6, 3, 3, 3, scale=0.3)]))

# MovingAverageMinMaxObserver over three batches (the first sets the range, later ones average into it).
ma_batches = [randn(8, 16, scale=1.0), randn(8, 16, scale=2.5, shift=0.5), randn(8, 16, scale=0.7, shift=-0.2)]
for c in (0.01, 0.5):
    observers.append(observe("moving_average_%s" % c, "MovingAverageMinMaxObserver",
                             lambda c=c: MovingAverageMinMaxObserver(averaging_constant=c, dtype=torch.quint8,
                                                                     qscheme=torch.per_tensor_affine, quant_min=0, quant_max=255, eps=EPS_2_12),
                             options_json(torch.quint8, torch.per_tensor_affine, quant_min=0, quant_max=255, eps=EPS_2_12),
                             ma_batches, {"averaging_constant": bits([c])[0]}))

# HistogramObserver. Torch 1.13 histograms a batch with torch.histc(x, bins, min=int(min_val), max=int(max_val)): the
# range is truncated to integers (later versions pass min_val and max_val as they are), so values outside the truncated
# range are dropped while the search still reads the bins as spanning [min_val, max_val]. The "_integer_range" cases
# have integer extremes, where that truncation changes nothing and the whole observer is comparable; the others keep a
# fractional range and check the search on torch's own histogram. Every step records torch's histogram.
def with_extremes(t, lo, hi):
    t = t.clamp(lo, hi).flatten()
    t[0], t[-1] = lo, hi
    return t


observers.append(histogram_case("histogram_normal_integer_range", [with_extremes(randn(2000), -4.0, 4.0)], quant_min=0, quant_max=255, eps=EPS_2_12))
observers.append(histogram_case("histogram_relu_integer_range", [with_extremes(torch.relu(randn(40, 50, scale=2.0)), 0.0, 7.0)],
                                quant_min=0, quant_max=255, eps=EPS_2_12))
observers.append(histogram_case("histogram_heavy_tail_integer_range",
                                [torch.cat([randn(3000, scale=0.5).clamp(-2.0, 2.0), torch.tensor([9.0, -8.0, 12.0])])],
                                quant_min=0, quant_max=255, eps=EPS_2_12))
observers.append(histogram_case("histogram_int8_symmetric_integer_range", [with_extremes(randn(1500, scale=0.8), -3.0, 3.0)],
                                torch.qint8, torch.per_tensor_symmetric))
observers.append(histogram_case("histogram_widening_second_batch_integer_range",
                                [with_extremes(randn(1000), -3.0, 3.0), with_extremes(randn(1000, scale=3.0, shift=1.0), -8.0, 11.0)],
                                quant_min=0, quant_max=255, eps=EPS_2_12))
observers.append(histogram_case("histogram_normal", [randn(2000)], quant_min=0, quant_max=255, eps=EPS_2_12))
observers.append(histogram_case("histogram_heavy_tail", [torch.cat([randn(3000, scale=0.5), torch.tensor([9.0, -7.5, 12.25])])],
                                quant_min=0, quant_max=255, eps=EPS_2_12))
observers.append(histogram_case("histogram_widening_second_batch", [randn(1000), randn(1000, scale=3.0, shift=1.0)],
                                quant_min=0, quant_max=255, eps=EPS_2_12))

# Fake quantize and quantize_per_tensor on exact ties: x / scale = k + 0.5 with a power-of-two scale, so x · (1 / scale)
# and x / scale are both exact and only the rounding rule (half to even) decides; plus a non-power-of-two scale.
ties = torch.tensor([(k + 0.5) * 0.125 for k in range(-20, 20)] + [0.0, -0.0, 100.0, -100.0, 1e-30], dtype=torch.float32)
fake = []
for scale, zp, qmin, qmax in [(0.125, 0, 0, 255), (0.125, 3, -128, 127), (0.1, 128, 0, 255), (1.0 / 3.0, -5, -128, 127)]:
    s = f32(scale)
    out = torch.fake_quantize_per_tensor_affine(ties, s, zp, qmin, qmax)
    fake.append({"name": "per_tensor scale %r zp %d [%d, %d]" % (scale, zp, qmin, qmax), "input": tensor_json(ties),
                 "scale": bits([s])[0], "zero_point": zp, "quant_min": qmin, "quant_max": qmax, "output": bits(out)})

pc_input = torch.stack([ties[:40] * m for m in (1.0, 2.0, 0.5)])  # [3, 40], channel c ties at scale 0.125 · m
pc_scales = torch.tensor([0.125, 0.25, 0.0625], dtype=torch.float32)
pc_zps = torch.tensor([0, 2, -1], dtype=torch.int32)
fake_pc = [{"name": "per_channel axis 0", "input": tensor_json(pc_input), "axis": 0, "scales": bits(pc_scales),
            "zero_points": pc_zps.tolist(), "quant_min": -128, "quant_max": 127,
            "output": bits(torch.fake_quantize_per_channel_affine(pc_input, pc_scales, pc_zps, 0, -128, 127))}]

quantize = []
for scale, zp, dtype in [(0.125, 0, torch.quint8), (0.125, 10, torch.qint8), (0.1, 128, torch.quint8)]:
    s = f32(scale)
    q = torch.quantize_per_tensor(ties, s, zp, dtype).int_repr().to(torch.int32)
    quantize.append({"name": "quantize_per_tensor scale %r zp %d %s" % (scale, zp, dtype), "input": tensor_json(ties), "scale": bits([s])[0],
                     "zero_point": zp, "dtype": {torch.quint8: "uint8", torch.qint8: "int8"}[dtype], "output": q.tolist()})

golden = {
    "torch_version": torch.__version__,
    "generator": "tests/TestData/pytorch/record_observers.py",
    "observers": observers,
    "fake_quantize_per_tensor": fake,
    "fake_quantize_per_channel": fake_pc,
    "quantize_per_tensor": quantize,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "observer_golden.json")
text = json.dumps(golden, indent=1)
# One line per list of numbers or hex strings, so the file stays readable.
text = re.sub(r"\[\s*((?:(?:\"[0-9a-f]{8}\"|-?[0-9.e+-]+),\s*)*(?:\"[0-9a-f]{8}\"|-?[0-9.e+-]+))\s*\]",
              lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)
with open(path, "w") as f:
    f.write(text + "\n")
print("wrote %s: %d observer cases, torch %s" % (path, len(observers), torch.__version__))
