"""The vendor baselines for attention in the GPU run: PyTorch's scaled_dot_product_attention on
its cuDNN backend (NVIDIA's fused attention) and on its flash backend (FlashAttention-2), timed
as `grove bench` times Grove: 10 warm-up runs, then the median of 50 runs timed with CUDA events.

    python3 bench/gpu/sdpa.py "B H S D CAUSAL [bf16] [kv=N] [sk=N]" ...

Each shape is batch B, heads H, sequence S, head dimension D, CAUSAL 0 or 1; tensors are f16 (bf16
where the shape says bf16, and its line says dtype=bf16) in (B, H, S, D) layout, which is
Grove's [BH, S, D]. With kv=N, K and V have N heads (grouped-query attention, SDPA's enable_gqa;
the line says kv_heads=N), which is attention_gqa.grove's [BKV, G, S, D] with BKV = B·N and
G = H / N. With sk=N, K and V have N positions and the S queries are the last S of them
(attention_prefill.grove's SQ = S, SK = N; the causal mask is SDPA's causal_lower_right; the line
says SK=N); S = 1, CAUSAL 0 and sk=N is one decoding step over a KV cache of N
(attention_decode.grove, with kv=N its grouped query heads as rows). FLOPs per run: 4·B·H·D·S·SK, less 4·B·H·D·S·S/2 when causal (for S = SK: half, as
FlashAttention counts them). One line per shape and backend:

    SDPA cudnn B=4 H=16 S=4096 D=128 causal=0: 0.950 ms, 578.5 TFLOP/s
    SDPA flash B=4 H=16 S=4096 D=128 causal=0: unavailable (reason)
"""

import statistics
import sys


def flops(b, h, s, d, causal, sk):
    return 4 * b * h * d * (s * sk - (s * s // 2 if causal else 0))


def time_ms(fn, warmup=10, iters=50):
    import torch

    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main(shapes):
    try:
        import torch
        import torch.nn.functional as F
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError as e:
        print(f"SDPA: PyTorch with torch.nn.attention is not available ({e})")
        return 1
    if not torch.cuda.is_available():
        print("SDPA: no GPU visible to PyTorch")
        return 1
    print(f"SDPA: torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, "
          f"{torch.cuda.get_device_name()}")
    backends = [("cudnn", SDPBackend.CUDNN_ATTENTION), ("flash", SDPBackend.FLASH_ATTENTION)]
    for shape in shapes:
        words = shape.split()
        b, h, s, d, causal = (int(x) for x in words[:5])
        bf16 = "bf16" in words[5:]
        kv = [int(w[3:]) for w in words[5:] if w.startswith("kv=")]
        hkv = kv[0] if kv else h
        sks = [int(w[3:]) for w in words[5:] if w.startswith("sk=")]
        sk = sks[0] if sks else s
        label = (f"B={b} H={h} S={s} D={d} causal={causal}" +
                 (f" kv_heads={hkv}" if kv else "") + (f" SK={sk}" if sks else "") +
                 (" dtype=bf16" if bf16 else ""))
        gen = torch.Generator(device="cuda").manual_seed(1234)
        dtype = torch.bfloat16 if bf16 else torch.float16
        q = torch.randn(b, h, s, d, device="cuda", dtype=dtype, generator=gen)
        k, v = (torch.randn(b, hkv, sk, d, device="cuda", dtype=dtype, generator=gen)
                for _ in range(2))
        extra = {"enable_gqa": True} if kv else {}
        if causal and sk != s:
            # SDPA's is_causal aligns the mask to the top left; prefill's is the bottom right.
            from torch.nn.attention.bias import causal_lower_right
            extra["attn_mask"] = causal_lower_right(s, sk)
        else:
            extra["is_causal"] = bool(causal)
        for name, backend in backends:
            try:
                with sdpa_kernel([backend]):
                    run = lambda: F.scaled_dot_product_attention(q, k, v, **extra)
                    run()
                    torch.cuda.synchronize()
                    ms = time_ms(run)
            except (RuntimeError, TypeError) as e:  # TypeError: a torch without enable_gqa
                reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
                print(f"SDPA {name} {label}: unavailable ({reason})")
                continue
            tf = flops(b, h, s, d, causal, sk) / (ms * 1e-3) / 1e12
            print(f"SDPA {name} {label}: {ms:.3f} ms, {tf:.1f} TFLOP/s", flush=True)
        del q, k, v
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
