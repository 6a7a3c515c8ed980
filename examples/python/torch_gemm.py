"""Grove kernels on PyTorch CUDA tensors, with no copies: Program.launch runs examples/gemm.grove
in f16 and in bf16 (its type parameter T set), examples/linear.grove (bf16, C = A · W^T on an
nn.Linear's own weight) and examples/gemm_fp8.grove, gemm_fp8_rowwise.grove and
gemm_fp8_blockwise.grove (float8_e4m3fn operands quantized with per-tensor, per-row and
DeepSeek-V3's block scales) on the tensors where they are, on torch's current stream. Each result is checked against
torch's float64 product on fresh random inputs, at sizes that are and are not tile multiples (rows
that are not a multiple of 16 bytes live in padded allocations, as TMA needs), and with M dynamic
(one compile for every M); then the square GEMM is timed next to torch.matmul (cuBLAS), and the
linear layer next to torch.nn.functional.linear, the same way.

    python3 examples/python/torch_gemm.py [SIZE]      (needs a Hopper GPU and PyTorch)
"""
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "build", "python"))
import grove  # noqa: E402
from cuda_timing import timed  # noqa: E402  (beside this file)


def matrix(rows, cols, dtype):
    """A rows x cols CUDA tensor whose rows start a multiple of 16 bytes apart (a view of the first
    `cols` columns of a padded allocation where a row of `cols` elements is not such a multiple)."""
    per16 = 16 // torch.empty(0, dtype=dtype).element_size()
    pitch = -(-cols // per16) * per16
    return torch.empty(rows, pitch, dtype=dtype, device="cuda")[:, :cols]


def check(program, mapping, dtype, m, n, k, dynamic=(), linear=False):
    a = matrix(m, k, dtype).uniform_(-1, 1)
    if linear:  # W as an nn.Linear(k, n) holds it, [N, K], read where it lies: C = A · W^T
        w = torch.nn.Linear(k, n, bias=False, dtype=dtype, device="cuda").weight.detach()
        operands, b = {"W": w}, w.T
    else:
        b = matrix(k, n, dtype).uniform_(-1, 1)
        operands = {"B": b}
    c = matrix(m, n, dtype).fill_(float("nan"))
    report = program.launch(C=c, A=a, **operands, mapping=mapping, dynamic=set(dynamic),
                            stream=torch.cuda.current_stream())
    want = a.double() @ b.double()
    err = ((c.double() - want).norm() / want.norm()).item()
    ok = bool(torch.isfinite(c).all()) and err < (2e-3 if dtype == torch.float16 else 1e-2)
    print(f"{mapping:14} {str(dtype):15} {'A·W^T' if linear else 'A·B':5} {m:5} x {n:5} x {k:5}  "
          f"||C - ref|| / ||ref|| = "
          f"{err:.2e} {'ok' if ok else 'FAILED'}  ({report['summary']})")
    return ok


def check_fp8(program, mapping, m, n, k, rowwise=False):
    """C = (sx · sw) · Aq · Wq^T with Aq = A / sx and Wq = W / sw in e4m3, each scale taking its
    tensor's (rowwise: its row's) largest magnitude to 448, the largest e4m3; checked against the
    float64 product of the quantized operands (the product Grove computes; quantization's own
    error is the caller's choice of format)."""
    x, w = torch.randn(m, k, device="cuda"), torch.randn(n, k, device="cuda")
    if rowwise:
        sx, sw = x.abs().amax(dim=1, keepdim=True) / 448, w.abs().amax(dim=1, keepdim=True) / 448
    else:
        sx, sw = x.abs().max().item() / 448, w.abs().max().item() / 448
    a, wq = matrix(m, k, torch.float8_e4m3fn), matrix(n, k, torch.float8_e4m3fn)
    a.copy_(x / sx)
    wq.copy_(w / sw)
    c = matrix(m, n, torch.bfloat16).fill_(float("nan"))
    scales = {"sa": sx.flatten().contiguous(), "sw": sw.flatten().contiguous()} if rowwise else \
        {"scale": sx * sw}
    report = program.launch(C=c, A=a, W=wq, **scales, mapping=mapping,
                            stream=torch.cuda.current_stream())
    want = (a.double() @ wq.double().T) * (sx.double() * sw.double().T if rowwise else sx * sw)
    err = ((c.double() - want).norm() / want.norm()).item()
    ok = bool(torch.isfinite(c).all()) and err < 1e-2
    print(f"{mapping:14} {'float8_e4m3fn':15} {'A·W^T':5} {m:5} x {n:5} x {k:5}  "
          f"||C - ref|| / ||ref|| = {err:.2e} {'ok' if ok else 'FAILED'}  ({report['summary']})")
    return ok


def check_fp8_blockwise(program, m, n, k):
    """DeepSeek-V3's block scales (examples/gemm_fp8_blockwise.grove): A quantized per row and 128
    of K, W per 128x128 block, each block's largest magnitude taken to 448; checked against the
    float64 product of the dequantized operands."""
    kb, nb = -(-k // 128), -(-n // 128)
    x, w = torch.randn(m, k, device="cuda"), torch.randn(n, k, device="cuda")
    xb = torch.nn.functional.pad(x, (0, kb * 128 - k)).view(m, kb, 128)
    wb = torch.nn.functional.pad(w, (0, kb * 128 - k, 0, nb * 128 - n)).view(nb, 128, kb, 128)
    sx = xb.abs().amax(dim=2).clamp(min=1e-12) / 448                  # [M, KB]
    sw = wb.abs().amax(dim=(1, 3)).clamp(min=1e-12) / 448             # [NB, KB]
    sx_full = sx.repeat_interleave(128, dim=1)[:, :k]                 # per element of A
    sw_full = sw.repeat_interleave(128, dim=0).repeat_interleave(128, dim=1)[:n, :k]
    a, wq = matrix(m, k, torch.float8_e4m3fn), matrix(n, k, torch.float8_e4m3fn)
    a.copy_(x / sx_full)
    wq.copy_(w / sw_full)
    # sa as [KB, M] (the kernel's TMA reads a K block's scales of a tile's rows in one box); rows
    # of both a multiple of 16 bytes apart (sw is read with ordinary loads at that pitch).
    sa, swp = matrix(kb, m, torch.float32), matrix(nb, kb, torch.float32)
    sa.copy_(sx.T)
    swp.copy_(sw)
    c = matrix(m, n, torch.bfloat16).fill_(float("nan"))
    report = program.launch(C=c, A=a, W=wq, sa=sa, sw=swp, mapping="blockwise_h100",
                            stream=torch.cuda.current_stream())
    want = (a.double() * sx_full.double()) @ (wq.double() * sw_full.double()).T
    err = ((c.double() - want).norm() / want.norm()).item()
    ok = bool(torch.isfinite(c).all()) and err < 1e-2
    print(f"{'blockwise_h100':14} {'float8_e4m3fn':15} {'A·W^T':5} {m:5} x {n:5} x {k:5}  "
          f"||C - ref|| / ||ref|| = {err:.2e} {'ok' if ok else 'FAILED'}  ({report['summary']})")
    return ok


def main():
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to run")
        return 1
    programs = {torch.float16: grove.load(os.path.join(ROOT, "examples", "gemm.grove")),
                torch.bfloat16: grove.load(os.path.join(ROOT, "examples", "gemm.grove"),
                                           types={"T": "bf16"})}
    ok = True
    for dtype, program in programs.items():
        for mapping in program.mappings:
            for m, n, k in ((512, 512, 256), (300, 264, 200), (200, 100, 100)):
                ok = check(program, mapping, dtype, m, n, k) and ok
    # A as a column slice of a wider matrix: TMA takes its strides, nothing is copied.
    x = torch.empty(300, 512, dtype=torch.float16, device="cuda").uniform_(-1, 1)
    a, b = x[:, :200], torch.empty(200, 264, dtype=torch.float16, device="cuda").uniform_(-1, 1)
    c = torch.full((300, 264), float("nan"), dtype=torch.float16, device="cuda")
    programs[torch.float16].launch(C=c, A=a, B=b, mapping="h100")
    want = a.double() @ b.double()
    err = ((c.double() - want).norm() / want.norm()).item()
    print(f"A = x[:, :200] of a 300 x 512 x: ||C - ref|| / ||ref|| = {err:.2e} "
          f"{'ok' if err < 2e-3 else 'FAILED'}")
    ok = err < 2e-3 and ok
    # M dynamic (say, the tokens of a batch): one compile serves every M.
    for m in (512, 300, 77, 1):
        ok = check(programs[torch.float16], "h100", torch.float16, m, 264, 200, {"M"}) and ok
    # A linear layer on an nn.Linear's weight, both mappings, then M dynamic.
    linear = grove.load(os.path.join(ROOT, "examples", "linear.grove"))
    for mapping in linear.mappings:
        for m, n, k in ((512, 512, 256), (300, 264, 200)):
            ok = check(linear, mapping, torch.bfloat16, m, n, k, linear=True) and ok
    for m in (77, 1):
        ok = check(linear, "h100", torch.bfloat16, m, 264, 200, {"M"}, linear=True) and ok
    # FP8: e4m3 operands, the dequantization scale applied in the epilogue.
    fp8 = grove.load(os.path.join(ROOT, "examples", "gemm_fp8.grove"))
    for mapping in fp8.mappings:
        for m, n, k in ((512, 512, 512), (300, 264, 200)):
            ok = check_fp8(fp8, mapping, m, n, k) and ok
    rowwise = grove.load(os.path.join(ROOT, "examples", "gemm_fp8_rowwise.grove"))
    for m, n, k in ((512, 512, 512), (300, 264, 200)):
        ok = check_fp8(rowwise, "rowwise_h100", m, n, k, rowwise=True) and ok
    blockwise = grove.load(os.path.join(ROOT, "examples", "gemm_fp8_blockwise.grove"))
    for m, n, k in ((512, 512, 1024), (300, 264, 300)):
        ok = check_fp8_blockwise(blockwise, m, n, k) and ok

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
    print(f"\nf16 GEMM {size}^3 on {torch.cuda.get_device_name()}, median of 50 (same inputs "
          "for both, so warm in L2: `grove bench` and bench/gpu/run.sh time the fair way):")
    a = torch.randn(size, size, dtype=torch.float16, device="cuda")
    b = torch.randn(size, size, dtype=torch.float16, device="cuda")
    c = torch.empty(size, size, dtype=torch.float16, device="cuda")
    gemm = programs[torch.float16]
    flops = 2 * size ** 3
    for name, fn in (("grove launch", lambda: gemm.launch(C=c, A=a, B=b, mapping="h100")),
                     ("torch.matmul", lambda: torch.matmul(a, b, out=c))):
        ms = timed(fn)
        print(f"  {name:13} {ms:8.3f} ms  {flops / ms / 1e9:7.1f} TFLOP/s")

    m, n, k = 4096, 14336, 4096
    print(f"\nbf16 linear layer, {m} tokens, {k} -> {n} features (same inputs, warm in L2):")
    x = torch.randn(m, k, dtype=torch.bfloat16, device="cuda")
    w = torch.randn(n, k, dtype=torch.bfloat16, device="cuda")
    y = torch.empty(m, n, dtype=torch.bfloat16, device="cuda")
    flops = 2 * m * n * k
    for name, fn in (("grove launch", lambda: linear.launch(C=y, A=x, W=w, mapping="h100")),
                     ("x @ w.T", lambda: torch.matmul(x, w.T, out=y))):
        ms = timed(fn)
        print(f"  {name:13} {ms:8.3f} ms  {flops / ms / 1e9:7.1f} TFLOP/s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
