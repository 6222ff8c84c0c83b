#!/usr/bin/env python3
"""PyTorch reference for training/bench: trains the same GENIUS network
definition as the Go engine (the paper's ImageNet space) on random tensors
and prints one JSON line with images/s, parameters and peak memory.

Run with Debian's python3-torch: /usr/bin/python3 torch_ref.py --steps 10
On a GPU (training/cuda/devicecheck.sh), as PyTorch is usually run there:
  torch_ref.py --device cuda --bf16 --channels-last --input 224 --batch 256 --classes 1000
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn

STAGES = [(16, 24, 2), (24, 40, 2), (40, 80, 2), (80, 96, 1), (96, 192, 2)]
OPS = [(0, 0), (3, 4), (5, 4), (7, 4), (3, 6), (5, 6), (7, 6)]


def make_divisible(v, d=8):
    n = max(d, int(v + d / 2) // d * d)
    if n < 0.9 * v:
        n += d
    return n


def conv_bn(i, o, k, s=1, groups=1, act=True):
    layers = [nn.Conv2d(i, o, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(o)]
    if act:
        layers.append(nn.Hardswish())
    return layers


class SE(nn.Module):
    def __init__(self, c):
        super().__init__()
        mid = make_divisible(c * 0.25)
        self.fc = nn.Sequential(nn.Conv2d(c, mid, 1), nn.ReLU(), nn.Conv2d(mid, c, 1), nn.Hardsigmoid())

    def forward(self, x):
        return x * self.fc(x.mean((2, 3), keepdim=True))


class Block(nn.Module):
    def __init__(self, layers, residual):
        super().__init__()
        self.body = nn.Sequential(*layers)
        self.residual = residual

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


def genius_net(arch, classes, dropout=0.2):
    layers = conv_bn(3, 16, 3, 2)
    layers.append(Block(conv_bn(16, 16, 3, 1, 16) + [SE(16)] + conv_bn(16, 16, 1, act=False), True))
    for st, (cin, cout, stride) in enumerate(STAGES):
        for sl in range(6):
            op = arch[st * 6 + sl]
            i, s = (cin, stride) if sl == 0 else (cout, 1)
            if op == 0:
                if sl == 0:
                    layers += conv_bn(i, cout, 1, s, act=False)
                continue
            k, e = OPS[op]
            h = make_divisible(i * e)
            body = conv_bn(i, h, 1) + conv_bn(h, h, k, s, h) + [SE(h)] + conv_bn(h, cout, 1, act=False)
            layers.append(Block(body, i == cout and s == 1))
    layers += conv_bn(192, 320, 1)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(320, 1280, 1), nn.Hardswish(), nn.Flatten(),
               nn.Dropout(dropout), nn.Linear(1280, classes)]
    return nn.Sequential(*layers)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", default="1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--input", type=int, default=32)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast for the forward pass and the loss")
    p.add_argument("--channels-last", action="store_true", help="NHWC memory format")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    net = genius_net([int(v) for v in a.arch.split(",")], a.classes).to(dev, memory_format=fmt)
    decay = [q for n, q in net.named_parameters() if q.ndim > 1]
    no_decay = [q for n, q in net.named_parameters() if q.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0}],
                          lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(a.batch, 3, a.input, a.input, device=dev).contiguous(memory_format=fmt)
    y = torch.randint(0, a.classes, (a.batch,), device=dev)
    net.train()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=a.bf16):
            loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    def sync():
        if cuda:
            torch.cuda.synchronize()

    for _ in range(a.warmup):
        step()
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    c = time.process_time()
    for _ in range(a.steps):
        loss = step()
    sync()
    dt = time.perf_counter() - t
    cpu = time.process_time() - c
    out = {
        "engine": "pytorch-" + torch.__version__,
        "device": torch.cuda.get_device_name(dev) if cuda else "cpu",
        "input": a.input,
        "batch": a.batch,
        "bf16": a.bf16,
        "channels_last": a.channels_last,
        "threads": torch.get_num_threads(),
        "images_per_s": a.batch * a.steps / dt,
        "images_per_cpu_s": a.batch * a.steps / cpu,
        "params": sum(q.numel() for q in net.parameters()),
        "loss": loss.item(),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    if cuda:
        # The peak over the timed steps, which is any step's after warm-up.
        out["peak_device_bytes"] = torch.cuda.max_memory_allocated(dev)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
