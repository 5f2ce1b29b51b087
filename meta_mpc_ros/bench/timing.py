"""
Timing for `meta-mpc bench core`: interleaved repeats, spreads, the GEMM peak, the machine.

A shared machine's speed drifts from second to second, so contestants that are compared
are timed in rounds, each round calling every one of them once (in an order that
rotates from round to round), and each is summarised by its median and its
interquartile range. Two contestants whose ranges overlap are not told apart.

The peak is the machine's own: the fastest of torch's matrix products (MKL or
oneDNN) on a 1024 x 1024 by 1024 x 1024 product and on the planner's own layer shape,
in the planning dtype, on the same threads, timed in the same rounds as the planner it
is the peak for. (With AMX, oneDNN runs a tall K x 512 by 512 x 512 bf16 product
about 1.6x faster than the square one, so a square-only peak is no peak.)
"""

import os
import platform
import statistics
import time

import torch

PEAK_SIZE = 1024


def interleaved_ms(functions, rounds, warmup=2, synchronize=None):
    """
    Time functions in interleaved rounds.

    :param functions: name -> callable taking no arguments.
    :param rounds: timed calls of each function.
    :param warmup: untimed calls of each first.
    :param synchronize: callable run before and after each timed call (CUDA), or None.
    :return: name -> list of wall times in ms, one per round.
    """
    names = list(functions)
    for name in names:
        for _ in range(warmup):
            functions[name]()
    times = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            if synchronize:
                synchronize()
            start = time.perf_counter()
            functions[name]()
            if synchronize:
                synchronize()
            times[name].append((time.perf_counter() - start) * 1e3)
    return times


def spread(samples):
    """Return (median, 25th percentile, 75th percentile) of a list of numbers."""
    if len(samples) < 2:
        return samples[0], samples[0], samples[0]
    low, _, high = statistics.quantiles(samples, n=4, method='inclusive')
    return statistics.median(samples), low, high


def overlap(first, second):
    """Return True when two (median, low, high) ranges overlap."""
    return first[1] <= second[2] and second[1] <= first[2]


def verdict(ours, peer):
    """Return 'faster', 'slower' or 'overlap': ours against a peer, by their spreads."""
    if overlap(ours, peer):
        return 'overlap'
    return 'faster' if ours[0] < peer[0] else 'slower'


def peak_products(dtype, device, layer=None):
    """
    Return the products the peak is measured with, and the FLOPs of each.

    Square PEAK_SIZE products, and, given `layer`, the planner's own layer shape (a
    batch of K rows through a width x width weight), which the matrix units of some
    CPUs (AMX) run faster than the square one: the peak is the fastest of them all.

    :param layer: (rows, width), or None.
    :return: (name -> callable, name -> FLOPs of one call)
    """
    generator = torch.Generator().manual_seed(0)
    products, flops = {}, {}
    shapes = {'': (PEAK_SIZE, PEAK_SIZE, PEAK_SIZE)}
    if layer is not None:
        shapes['_layer'] = (layer[0], layer[1], layer[1])
    onednn = torch.device(device).type == 'cpu' and torch.backends.mkldnn.is_available() \
        and hasattr(torch.ops.mkldnn, '_linear_pointwise')
    for suffix, (rows, inner, columns) in shapes.items():
        left = torch.randn(rows, inner, generator=generator).to(device=device, dtype=dtype)
        right = torch.randn(inner, columns, generator=generator).to(device=device,
                                                                    dtype=dtype)
        products[f'peak_mm{suffix}'] = lambda left=left, right=right: torch.mm(left, right)
        if onednn:
            packed = torch.ops.mkldnn._reorder_linear_weight(right)
            products[f'peak_onednn{suffix}'] = (
                lambda left=left, packed=packed: torch.ops.mkldnn._linear_pointwise(
                    left, packed, None, 'none', [], ''))
        for name in (f'peak_mm{suffix}', f'peak_onednn{suffix}'):
            flops[name] = 2.0 * rows * inner * columns
    return products, flops


def peak_gflops(times, flops):
    """Return the peak in GFLOP/s from interleaved times of the peak products."""
    return max(flops[name] / (statistics.median(times[name]) * 1e6)
               for name in times if name.startswith('peak_'))


def cpu_model():
    """Return the CPU's model name and its matrix-relevant flags, as one string."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open('/proc/cpuinfo') as stream:
            for line in stream:
                key, _, value = line.partition(':')
                if key.strip() == 'model name':
                    name = value.strip()
                elif key.strip() == 'flags':
                    flags = set(value.split())
                    break
    except OSError:
        pass
    shown = [flag for flag in ('avx2', 'avx512f', 'avx512_bf16', 'amx_bf16') if flag in flags]
    return f'{name} ({", ".join(shown)})' if shown else name


def load_average():
    """Return the 1-minute load average, or None where the OS has none."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def load_warning(threads):
    """Return a warning when the load average exceeds the thread count, else ''."""
    load = load_average()
    if load is None or load <= threads:
        return ''
    return (f'WARNING: load average {load:.1f} is over the {threads} threads timed: the '
            'machine is shared and loaded, so absolute times are slow and noisy; ratios '
            'within one round (ours, peak, peers) still compare like with like')
