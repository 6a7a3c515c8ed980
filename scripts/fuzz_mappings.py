"""Perturbs the examples' mapping knobs (tile sizes, pipeline depth, persistence, clusters,
ping-pong, overlap, tile order) and runs every mapping that lowers through the emulator under a
few random schedules and, if asked, through the CPU stand-in of the GPU (the printed CUDA, run on
the CPU) and nvcc for sm_90a. A mapping may be refused, but only with a `file:line:col` error;
a mapping that lowers must give the interpreter's results, print, compile and not spill. Found
the pipeline = 1 deadlock and the aliasing order bug (2026-12-01). A tool for developers, not a
test: its cases are random. Needs a build (bash scripts/test.sh); --nvcc needs nvcc.

    python3 scripts/fuzz_mappings.py --seed 7 --count 60 [--stand-in] [--nvcc]

Prints one line per case (ok / error / BAD...) and keeps each BAD case's program and output in
--out (default /tmp/grove-fuzz).
"""

import argparse
import glob
import os
import random
import re
import shutil
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# example | mapping | sizes (ragged) | scalar arguments
CASES = [
    ("gemm.grove", "h100", "M=200,N=300,K=136", ""),
    ("gemm.grove", "h100_pingpong", "M=200,N=300,K=136", ""),
    ("linear.grove", "h100", "M=130,N=264,K=72", ""),
    ("gemm_bias_gelu.grove", "h100", "M=136,N=300,K=72", ""),
    ("gemm_fp8.grove", "h100", "M=200,N=264,K=136", "scale=0.5"),
    ("gemm_fp8.grove", "h100_pingpong", "M=130,N=328,K=136", "scale=0.5"),
    ("gemm_fp8_rowwise.grove", "rowwise_h100", "M=200,N=264,K=136", ""),
    ("gemm_fp8_blockwise.grove", "blockwise_h100", "M=136,N=264,K=300,KB=3,NB=3", ""),
    ("gemm_rowsum.grove", "h100", "M=200,N=256,K=136", ""),
    ("gemm_residual.grove", "h100", "M=200,N=300,K=136", "alpha=0.5,beta=2.0"),
    ("gemm_splitk.grove", "h100_splitk", "M=200,N=136,K=300", ""),
    ("batched_gemm.grove", "h100", "L=2,M=130,N=200,K=72", ""),
    ("dual_gemm.grove", "h100", "M=128,N=200,K=128", ""),
    ("quantize_fp8_blockwise.grove", "h100", "M=200,K=700,KB=6", ""),
    ("attention.grove", "h100_d128", "BH=1,S=200,D=128", "sm_scale=0.088"),
    ("attention.grove", "h100_d64", "BH=1,S=300,D=64", "sm_scale=0.125"),
    ("attention_causal.grove", "h100_d128_causal", "BH=1,S=300,D=128", "sm_scale=0.088"),
    ("attention_causal.grove", "h100_d128_causal_persistent", "BH=2,S=700,D=128", "sm_scale=0.088"),
    ("attention_fp8.grove", "fp8_d128", "BH=1,S=200,D=128", "sm_scale=0.088"),
    ("attention_decode.grove", "decode_d128", "BH=1,SQ=2,SK=600,D=128", "sm_scale=0.088"),
]


# A knob as the mapping writes it, and what it may become.
EDITS = [
    (r"pipeline = \d+;", lambda r: "pipeline = %d;" % r.choice([1, 2, 3, 4, 5])),
    (r"persistent = (true|false);", lambda r: "persistent = %s;" % r.choice(["true", "false"])),
    (r"cluster = \(\d, \d\);",
     lambda r: "cluster = (%d, %d);" % r.choice([(1, 1), (2, 1), (1, 2), (2, 2)])),
    (r"BK = \d+", lambda r: "BK = %d" % r.choice([16, 32, 48, 64, 96, 128])),
    (r"BN = \d+", lambda r: "BN = %d" % r.choice([16, 32, 64, 128, 192, 256])),
    (r"BM = \d+", lambda r: "BM = %d" % r.choice([64, 128, 192, 256])),
    (r"BQ = \d+", lambda r: "BQ = %d" % r.choice([64, 128, 192])),
    (r"KC = \d+", lambda r: "KC = %d" % r.choice([128, 256, 1024])),
    (r"KS = \d+", lambda r: "KS = %d" % r.choice([64, 128, 256])),
    (r"WM = \d+", lambda r: "WM = %d" % r.choice([64, 128])),
    (r"WQ = \d+", lambda r: "WQ = %d" % r.choice([64, 128])),
    (r"pingpong = (true|false);", lambda r: "pingpong = %s;" % r.choice(["true", "false"])),
    (r"overlap = (true|false);|pingpong = true;",
     lambda r: "pingpong = true;\n    overlap = %s;" % r.choice(["true", "false"])),
    (r"persistent = true;",
     lambda r: "persistent = true;\n    last_tiles_first = %s;" % r.choice(["true", "false"])),
    (r"tile_band = \d+;|persistent = true;",
     lambda r: "persistent = true;\n    tile_band = %d;" % r.choice([1, 4, 16])),
]


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    return r.returncode, r.stdout + r.stderr


def refused(out):
    """A clean refusal: a diagnostic at a place in the program, and no wrong result or hang."""
    return (re.search(r"\.grove:\d+:\d+: error", out) is not None and "FAILED" not in out and
            "deadlock" not in out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default="/tmp/grove-fuzz")
    ap.add_argument("--stand-in", action="store_true", help="also run --gpu --check on the stand-in")
    ap.add_argument("--nvcc", action="store_true", help="also compile every kernel with nvcc")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    grove = os.path.join(a.build, "src", "cli", "grove")
    work = os.path.join(a.out, "seed%d" % a.seed)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for f in glob.glob(os.path.join(ROOT, "examples", "*.grove")):
        shutil.copy(f, work)  # what a case imports, beside it
    env = dict(os.environ,
               LD_LIBRARY_PATH=os.path.join(a.build, "tests", "cuda", "fake_driver"),
               GROVE_NVRTC=os.path.join(a.build, "tests", "cuda", "libgrove_fake_nvrtc.so"),
               GROVE_CACHE_DIR=os.path.join(work, "cache"))
    bad = 0
    for n in range(a.count):
        file, mapping, sizes, args = rng.choice(CASES)
        text = open(os.path.join(ROOT, "examples", file)).read()
        at = text.find("mapping " + mapping + " ")
        head, tail = text[:at], text[at:]
        applied = []
        for pattern, new in rng.sample(EDITS, rng.randint(1, 3)):
            m = re.search(pattern, tail)
            if m:
                to = new(rng)
                tail = tail[:m.start()] + to + tail[m.end():]
                applied.append(to.replace("\n    ", " "))
        if not applied:
            continue
        path = os.path.join(work, "case.grove")
        open(path, "w").write(head + tail)
        base = [path, "--mapping", mapping, "--size", sizes] + (["--arg", args] if args else [])
        rc, out = run([grove, "run"] + base + ["--emulate", "--schedules", "3", "--check"])
        if rc != 0:
            kind = "error" if refused(out) else "BAD emulation"
        else:
            kind = "ok"
            if a.stand_in:
                rc, o = run([grove, "run"] + base + ["--gpu", "--check"], env=env)
                if rc != 0:
                    kind, out = ("error (back end)" if refused(o) else "BAD stand-in"), o
            if kind == "ok" and a.nvcc:
                cu_dir = os.path.join(work, "cu")
                shutil.rmtree(cu_dir, ignore_errors=True)
                d = re.search(r"\bD=(\d+)", sizes)
                rc, o = run([grove, "build", path, "--mapping", mapping, "-o", cu_dir] +
                            (["--size", "D=" + d.group(1)] if d else []))
                if rc != 0:
                    kind, out = ("error (back end)" if refused(o) else "BAD build"), o
                for cu in glob.glob(os.path.join(cu_dir, "*.cu")) if kind == "ok" else []:
                    rc, o = run(["nvcc", "-std=c++20", "-gencode", "arch=compute_90a,code=sm_90a",
                                 "-Xptxas", "-v", "-c", cu, "-o", os.devnull], cwd=cu_dir)
                    spills = [int(x) for x in re.findall(r"(\d+) bytes spill stores", o)]
                    if rc != 0 or any(spills):
                        kind, out = ("BAD nvcc" if rc else "BAD spills"), o
                        break
        first = [l.strip() for l in out.splitlines() if re.search(r"error|FAILED|fatal", l)][:1]
        print(kind, file, mapping, applied, *first, flush=True)
        if kind.startswith("BAD"):
            bad += 1
            keep = os.path.join(a.out, "bad_seed%d_case%d" % (a.seed, n))
            open(keep + ".grove", "w").write(head + tail)
            open(keep + ".txt", "w").write(" ".join(base) + "\n" + out)
    print("%d BAD (kept in %s)" % (bad, a.out))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
