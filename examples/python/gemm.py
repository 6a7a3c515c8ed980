"""GEMM from Python: examples/gemm.grove run on numpy arrays by the interpreter, the emulator of
the lowered kernel and (where there is one) the GPU, each checked against a float64 product.

    python3 examples/python/gemm.py [M N K]      (after a build: build/python holds the module)
"""
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "build", "python"))
import grove  # noqa: E402

m, n, k = (int(x) for x in sys.argv[1:4]) if len(sys.argv) >= 4 else (300, 264, 200)
program = grove.load(os.path.join(ROOT, "examples", "gemm.grove"))
rng = np.random.default_rng()
a = rng.uniform(-1, 1, (m, k)).astype(np.float16)
b = rng.uniform(-1, 1, (k, n)).astype(np.float16)
want = a.astype(np.float64) @ b.astype(np.float64)

failed = False
for target in ("cpu", "emulator", "gpu"):
    c = np.full((m, n), np.nan, np.float16)
    try:
        report = program.run(C=c, A=a, B=b, mapping="h100", target=target)
    except grove.GroveError as e:
        if target == "gpu" and ("no CUDA driver" in str(e) or "no GPU" in str(e)
                                or "CUDA-capable" in str(e)):
            print(f"{target:9} skipped: {str(e).splitlines()[0]}")
            continue
        raise
    err = np.linalg.norm(c.astype(np.float64) - want) / np.linalg.norm(want)
    ok = np.isfinite(c).all() and err < 2e-3
    failed = failed or not ok
    print(f"{target:9} ||C - ref|| / ||ref|| = {err:.2e} {'ok' if ok else 'FAILED'}"
          f"  ({report['summary']})")
sys.exit(1 if failed else 0)
