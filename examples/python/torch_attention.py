"""Grove's flash attention on PyTorch CUDA tensors, with no copies: Program.launch runs
examples/attention.grove and examples/attention_causal.grove for head dimensions 64, 128 and 256
on (batch x heads, sequence, head dim) f16 tensors, and in bf16 (the same files loaded with
types={"T": "bf16"}), with the batch-heads and sequence sizes dynamic (one compile per head
dimension serves every shape). Each result is checked against
softmax(Q K^T * scale) V computed by torch in float64 on fresh random inputs, at sequence lengths
that are and are not tile multiples; then one shape per head dimension is timed next to PyTorch's
scaled_dot_product_attention (cuDNN or FlashAttention, whichever PyTorch picks). Grouped-query
attention (examples/attention_gqa.grove and attention_gqa_causal.grove) runs on (batch, query
heads, S, D) Q and O viewed as (batch x key/value heads, group, S, D), also without copies, and
FP8 attention (examples/attention_fp8.grove, attention_fp8_causal.grove) on float8_e4m3fn
tensors, and
prefill with a KV cache (examples/attention_prefill.grove, attention_gqa_prefill.grove) on SQ
queries after SK keys, and decoding (examples/attention_decode.grove: the keys split across
blocks, merged by a second kernel through temporaries the runtime allocates at each launch).

    python3 examples/python/torch_attention.py      (needs a Hopper GPU and PyTorch)
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "build", "python"))
import grove  # noqa: E402
from cuda_timing import timed  # noqa: E402  (beside this file)

PROGRAMS = {False: "attention.grove", True: "attention_causal.grove"}


def reference(q, k, v, scale, causal):
    """softmax(Q K^T * scale) V in float64; causal masks align to the bottom right (query q of SQ
    sees keys 0..q + SK - SQ), and rows that see no key are zeros, as in FlashAttention."""
    s = (q.double() @ k.double().transpose(-1, -2)) * scale
    if causal:
        sq, sk = s.shape[-2:]
        s = s.masked_fill(torch.ones(sq, sk, dtype=torch.bool, device=s.device).triu(sk - sq + 1),
                          float("-inf"))
    return torch.softmax(s, dim=-1).nan_to_num(0.0) @ v.double()


def launch(program, causal, o, q, k, v, scale):
    d = q.shape[-1]
    mapping = f"h100_d{d}" + ("_causal" if causal else "")
    return program.launch(O=o, Q=q, K=k, V=v, sm_scale=scale, mapping=mapping,
                          dynamic={"BH", "S"}, stream=torch.cuda.current_stream())


def check(program, causal, bh, s, d, dtype=torch.float16):
    q, k, v = (torch.empty(bh, s, d, dtype=dtype, device="cuda").uniform_(-1, 1)
               for _ in range(3))
    o = torch.full_like(q, float("nan"))
    scale = 1 / math.sqrt(d)
    report = launch(program, causal, o, q, k, v, scale)
    want = reference(q, k, v, scale, causal)
    err = ((o.double() - want).norm() / want.norm()).item()
    ok = bool(torch.isfinite(o).all()) and err < (2e-3 if dtype == torch.float16 else 1e-2)
    print(f"{'causal' if causal else 'full':6} {str(dtype)[6:]:8} BH={bh:3} S={s:5} D={d:3}  "
          f"||O - ref|| / ||ref|| = {err:.2e} {'ok' if ok else 'FAILED'}  ({report['summary']})")
    return ok


def check_heads(program, mapping, dynamic, causal, b, h, hkv, sq, sk, d, group_rows=False):
    """SQ queries of H heads after SK keys of HKV heads, (B, heads, positions, D) tensors. With
    H = HKV, viewed as [B·H, S, D]; with fewer key/value heads, query head i reads key/value head
    i // G, so Q and O are viewed as [B·HKV, G, SQ, D] (grouped-query attention), or with
    group_rows as [B·HKV, G·SQ, D]: the G heads' queries as rows of one matrix (decoding)."""
    g = h // hkv
    q = torch.empty(b, h, sq, d, dtype=torch.float16, device="cuda").uniform_(-1, 1)
    k, v = (torch.empty(b, hkv, sk, d, dtype=torch.float16, device="cuda").uniform_(-1, 1)
            for _ in range(2))
    o = torch.full_like(q, float("nan"))
    scale = 1 / math.sqrt(d)
    rows = (b * hkv, g * sq) if group_rows else ((b * h,) if g == 1 else (b * hkv, g)) + (sq,)
    report = program.launch(O=o.view(*rows, d), Q=q.view(*rows, d),
                            K=k.view(b * hkv, sk, d), V=v.view(b * hkv, sk, d), sm_scale=scale,
                            mapping=mapping, dynamic=dynamic, stream=torch.cuda.current_stream())
    want = reference(q, k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1), scale,
                     causal)
    err = ((o.double() - want).norm() / want.norm()).item()
    ok = bool(torch.isfinite(o).all()) and err < 2e-3
    print(f"{mapping:18} B={b} H={h:2} KV={hkv} SQ={sq:5} SK={sk:5} D={d:3}  "
          f"||O - ref|| / ||ref|| = {err:.2e} {'ok' if ok else 'FAILED'}  ({report['summary']})")
    return ok


def check_fp8(program, bh, s, d, causal=False):
    """examples/attention_fp8.grove on float8_e4m3fn Q, K and V quantized with a scale each (the
    largest magnitude to 448), V passed transposed ([BH, D, S], as the tensor cores read it);
    against float64 attention of the dequantized inputs. P is rounded to e4m3 on the GPU, so the
    bound is FP8's, not bf16's."""
    x = [torch.randn(bh, s, d, device="cuda") for _ in range(3)]
    scales = [t.abs().max().item() / 448 for t in x]
    q, k, v = ((t / sc).to(torch.float8_e4m3fn) for t, sc in zip(x, scales))
    # Vt's rows (s keys of 1 byte) start a multiple of 16 bytes apart, as TMA needs: a view of a
    # padded allocation where s is not a multiple of 16.
    vt = torch.empty(bh, d, -(-s // 16) * 16, dtype=torch.float8_e4m3fn, device="cuda")[..., :s]
    vt.copy_(v.transpose(1, 2))
    o = torch.full((bh, s, d), float("nan"), dtype=torch.bfloat16, device="cuda")
    scale = 1 / math.sqrt(d)
    report = program.launch(O=o, Q=q, K=k, Vt=vt, sm_scale=scale * scales[0] * scales[1],
                            v_scale=scales[2], mapping=f"fp8_d{d}" + ("_causal" if causal else ""),
                            dynamic={"BH", "S"}, stream=torch.cuda.current_stream())
    want = reference(q.double() * scales[0], k.double() * scales[1], v.double() * scales[2], scale,
                     causal)
    err = ((o.double() - want).norm() / want.norm()).item()
    ok = bool(torch.isfinite(o).all()) and err < 1e-1
    print(f"{'causal' if causal else 'full':6} {'e4m3':8} BH={bh:3} S={s:5} D={d:3}  "
          f"||O - ref|| / ||ref|| = {err:.2e} "
          f"{'ok' if ok else 'FAILED'}  ({report['summary']})")
    return ok


def main():
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to run")
        return 1
    programs = {c: grove.load(os.path.join(ROOT, "examples", f)) for c, f in PROGRAMS.items()}
    ok = True
    for causal, program in programs.items():
        for d in (64, 128, 256):
            for bh, s in ((2, 512), (3, 200), (1, 1)):
                ok = check(program, causal, bh, s, d) and ok
    # bf16: the files' type parameter T set, the mappings as they are.
    bf16 = {c: grove.load(os.path.join(ROOT, "examples", f), types={"T": "bf16"})
            for c, f in PROGRAMS.items()}
    for causal, program in bf16.items():
        for bh, s in ((2, 512), (3, 200)):
            ok = check(program, causal, bh, s, 128, torch.bfloat16) and ok

    # FP8: e4m3 inputs, bf16 output; full and causal.
    for causal, f in ((False, "attention_fp8.grove"), (True, "attention_fp8_causal.grove")):
        fp8 = grove.load(os.path.join(ROOT, "examples", f))
        for d in (128, 256):
            for bh, s in ((2, 512), (3, 200)):
                ok = check_fp8(fp8, bh, s, d, causal) and ok

    for causal, f in ((False, "attention_gqa.grove"), (True, "attention_gqa_causal.grove")):
        gqa = grove.load(os.path.join(ROOT, "examples", f))
        for d in (64, 128, 256):
            for s in (512, 200):
                mapping = f"gqa_d{d}" + ("_causal" if causal else "")
                ok = check_heads(gqa, mapping, {"BKV", "S"}, causal, 2, 8, 2, s, s, d) and ok

    # Prefill with a KV cache: SQ new queries after SK - SQ cached keys (or SQ > SK: zero rows).
    # With grouped query heads too (attention_gqa_prefill.grove: 8 query heads per K/V head).
    prefill = grove.load(os.path.join(ROOT, "examples", "attention_prefill.grove"))
    gqa_prefill = grove.load(os.path.join(ROOT, "examples", "attention_gqa_prefill.grove"))
    for d in (64, 128, 256):
        for sq, sk in ((512, 2048), (200, 777), (1, 300), (300, 100)):
            ok = check_heads(prefill, f"prefill_d{d}", {"BH", "SQ", "SK"}, True, 2, 2, 2, sq, sk,
                             d) and ok
            ok = check_heads(gqa_prefill, f"gqa_prefill_d{d}", {"BKV", "SQ", "SK"}, True, 1, 16,
                             2, sq, sk, d) and ok

    # Decoding: one or a few new queries over a KV cache; grouped heads (8 query heads over 2
    # K/V heads) as rows. No mask: every cached key is seen.
    decode = grove.load(os.path.join(ROOT, "examples", "attention_decode.grove"))
    for d in (64, 128, 256):
        for b, h, hkv, sq, sk in ((2, 8, 8, 1, 4096), (2, 8, 2, 1, 1300), (1, 4, 4, 3, 777)):
            ok = check_heads(decode, f"decode_d{d}", {"BH", "SQ", "SK"}, False, b, h, hkv, sq, sk,
                             d, group_rows=True) and ok

    print(f"\nf16, B=4, 16k tokens, H*D = 2048, on {torch.cuda.get_device_name()}, median of 50 "
          "(same inputs for both; bench/gpu/run.sh times the fair way):")
    for causal, program in programs.items():
        for d in (64, 128, 256):
            b, h, s = 4, 2048 // d, 4096
            q, k, v = (torch.randn(b, h, s, d, dtype=torch.float16, device="cuda")
                       for _ in range(3))
            o = torch.empty_like(q)
            scale = 1 / math.sqrt(d)
            flops = 4 * b * h * s * s * d / (2 if causal else 1)
            flat = [t.view(b * h, s, d) for t in (o, q, k, v)]
            for name, fn in (("grove launch", lambda: launch(program, causal, *flat, scale)),
                             ("torch SDPA", lambda: F.scaled_dot_product_attention(
                                 q, k, v, is_causal=causal, scale=scale))):
                ms = timed(fn)
                print(f"  {'causal' if causal else 'full':6} D={d:3} {name:13} {ms:8.3f} ms "
                      f"{flops / ms / 1e9:7.1f} TFLOP/s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
