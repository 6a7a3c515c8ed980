"""The timing the torch examples share: the median of CUDA-event-timed runs after a warm-up."""
import torch


def timed(fn, warmup=10, iters=50):
    """Median milliseconds of `iters` runs after `warmup`, each timed with CUDA events."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return sorted(times)[len(times) // 2]
