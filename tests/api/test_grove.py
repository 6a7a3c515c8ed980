"""The Python module `grove`: programs run on buffers the caller owns, checked against float64
products computed here on fresh random inputs, and the errors a caller meets. Needs no numpy (the
array module's buffers); the numpy cases run where numpy is installed."""
import array
import math
import os
import random
import tempfile
import unittest

import grove

EXAMPLES = os.path.join(os.environ.get("GROVE_SOURCE_DIR", "../.."), "examples")


def buffer(shape, fmt="d", values=None):
    """A writable C-contiguous buffer of `shape` (random in [-1, 1] unless `values`)."""
    n = math.prod(shape)
    data = array.array(fmt, values if values is not None else
                       [random.uniform(-1, 1) for _ in range(n)])
    return memoryview(data).cast("B").cast(fmt, shape)


def rel_error(got, want):
    num = sum((g - w) ** 2 for g, w in zip(got, want))
    return math.sqrt(num / sum(w * w for w in want))


def matmul(a, b, m, n, k):
    return [sum(a[i, p] * b[p, j] for p in range(k)) for i in range(m) for j in range(n)]


def f16(x):
    """x rounded to the nearest f16 (struct's 'e' format)."""
    import struct
    return struct.unpack("e", struct.pack("e", x))[0]


class Gemm(unittest.TestCase):
    def setUp(self):
        self.p = grove.load(os.path.join(EXAMPLES, "gemm.grove"))

    def test_every_cpu_target_matches_float64(self):
        m, n, k = 72, 40, 24  # not tile multiples
        a = buffer((m, k), values=[f16(random.uniform(-1, 1)) for _ in range(m * k)])
        b = buffer((k, n), values=[f16(random.uniform(-1, 1)) for _ in range(k * n)])
        want = matmul(a, b, m, n, k)
        for target in ("cpu", "reference", "emulator"):
            c = buffer((m, n), values=[float("nan")] * (m * n))
            report = self.p.run(C=c, A=a, B=b, mapping="h100_pingpong", target=target,
                                schedules=2)
            self.assertEqual(report["sizes"], {"M": m, "N": n, "K": k})
            got = [c[i, j] for i in range(m) for j in range(n)]
            self.assertLess(rel_error(got, want), 2e-3, f"{target}: {report['summary']}")

    def test_signature_and_mappings(self):
        self.assertEqual(self.p.mappings, ["h100", "h100_pingpong", "h100_epilogue_pieces"])
        sig = self.p.signature()
        self.assertEqual(sig.task, "gemm")
        self.assertEqual([repr(t) for t in sig.tensors],
                         ["C: write f16[M, N]", "A: read f16[M, K]", "B: read f16[K, N]"])

    def test_errors(self):
        a, b, c = buffer((64, 16)), buffer((17, 32)), buffer((64, 32))
        with self.assertRaises(grove.GroveError) as e:
            self.p.run(C=c, A=a, B=b)
        self.assertIn("gemm.grove:10:", str(e.exception))
        self.assertIn("size K is 17 in tensor 'B' [17, 32], but 16 in A [64, 16]",
                      str(e.exception))
        with self.assertRaises(grove.GroveError) as e:
            self.p.run(C=c, A=a)
        self.assertIn("no array given for tensor 'B'", str(e.exception))
        with self.assertRaises(grove.GroveError) as e:
            self.p.run(C=c, A=a, B=buffer((16, 32)), mapping="h200")
        self.assertIn("no mapping named 'h200'", str(e.exception))
        with self.assertRaises(ValueError) as e:
            self.p.run(C=memoryview(bytes(8 * 64 * 32)).cast("d", (64, 32)), A=a, B=buffer((16, 32)))
        self.assertIn("read-only", str(e.exception))
        with self.assertRaises(TypeError) as e:
            self.p.run(C=c, A=a, B=memoryview(bytearray(16 * 32)).cast("B", (16, 32)))
        self.assertIn("format 'B'", str(e.exception))
        with self.assertRaises(ValueError) as e:
            self.p.run(C=c, A=a, B=buffer((16, 32)), target="tpu")
        self.assertIn("target 'tpu' is not one of cpu, reference, emulator, gpu", str(e.exception))
        with self.assertRaises(grove.GroveError) as e:
            self.p.run(C=c, A=a, B=buffer((16, 32)), X=buffer((16, 32)))
        self.assertIn("task 'gemm' has no tensor named 'X'", str(e.exception))
        with self.assertRaises(grove.GroveError) as e:
            grove.from_source("task t(C: write f16[M]);\nvariant", "x.grove")
        self.assertIn("x.grove:2:", str(e.exception))

    def test_gpu_runs_or_says_there_is_no_gpu(self):
        m, n, k = 128, 256, 64
        a = buffer((m, k), values=[f16(random.uniform(-1, 1)) for _ in range(m * k)])
        b = buffer((k, n), values=[f16(random.uniform(-1, 1)) for _ in range(k * n)])
        c = buffer((m, n), values=[float("nan")] * (m * n))
        try:
            self.p.run(C=c, A=a, B=b, target="gpu")
        except grove.GroveError as e:
            self.assertTrue(any(s in str(e) for s in NO_GPU[:3]), str(e))
            return
        got = [c[i, j] for i in range(m) for j in range(n)]
        self.assertLess(rel_error(got, matmul(a, b, m, n, k)), 2e-3)

    def test_cuda(self):
        text = self.p.cuda("h100", M=512, N=512)
        self.assertIn("__global__", text)

    def test_resources(self):
        old = os.environ.get("GROVE_CACHE_DIR")
        with tempfile.TemporaryDirectory() as cache:
            os.environ["GROVE_CACHE_DIR"] = cache  # a cold compile, not the user's cache
            try:
                (r,) = self.p.resources("h100", M=512, N=512, K=256)
            except grove.GroveError as e:
                self.assertIn("NVRTC", str(e))
                self.skipTest("no NVRTC")
            finally:
                if old is None:
                    del os.environ["GROVE_CACHE_DIR"]
                else:
                    os.environ["GROVE_CACHE_DIR"] = old
        self.assertEqual((r.kernel, r.registers, r.spill_store_bytes), ("gemm_tile_0", 168, 0))
        self.assertEqual(r.notes, [])


class ReadWrite(unittest.TestCase):
    SOURCE = """
task scale(X: readwrite f32[N], s: float);
variant scale.spec leaf reference {
  X[i] = X[i] * s;
}
mapping host_only {
  entry host;
  instance host = scale.spec @ HOST { }
}
"""

    def test_readwrite_tensor_is_read_and_written_in_place(self):
        p = grove.from_source(self.SOURCE, "scale.grove")
        self.assertEqual([repr(t) for t in p.signature().tensors], ["X: readwrite f32[N]"])
        values = [random.uniform(-1, 1) for _ in range(37)]
        x = buffer((37,), "d", values)
        p.run(X=x, s=3.0)
        # X is f32: read as f32, stored as f32.
        want = array.array("f", [v * 3.0 for v in array.array("f", values)])
        self.assertEqual(list(x), list(want))


class Attention(unittest.TestCase):
    def test_type_arguments(self):
        path = os.path.join(EXAMPLES, "attention.grove")
        self.assertEqual(grove.load(path).types, {"T": "f16"})
        p = grove.load(path, types={"T": "bf16"})
        self.assertEqual(p.types, {"T": "bf16"})
        self.assertEqual(p.signature("h100_d64").tensors[0].elem, "bf16")
        self.assertIn("wgmma_m64n64k16_bf16", p.cuda("h100_d64", D=64))
        with self.assertRaisesRegex(grove.GroveError, "no type parameter 'E'"):
            grove.load(path, types={"E": "bf16"})
        with self.assertRaisesRegex(grove.GroveError, "'f64' is not an element type"):
            grove.load(path, types={"T": "f64"})

    def test_scalar_is_used(self):
        p = grove.load(os.path.join(EXAMPLES, "attention.grove"))
        shape = (1, 40, 64)
        q, k, v = buffer(shape, "f"), buffer(shape, "f"), buffer(shape, "f")
        outs = {}
        for target, scale in (("cpu", 0.125), ("reference", 0.125), ("reference", 0.5)):
            o = buffer(shape, "f", [0.0] * math.prod(shape))
            p.run(O=o, Q=q, K=k, V=v, mapping="h100_d64", target=target, sm_scale=scale)
            outs[target, scale] = list(o.cast("B").cast("f"))
        self.assertLess(rel_error(outs["cpu", 0.125], outs["reference", 0.125]), 2e-3)
        self.assertGreater(rel_error(outs["reference", 0.5], outs["reference", 0.125]), 1e-2)
        with self.assertRaises(grove.GroveError) as e:
            p.run(O=buffer(shape, "f"), Q=q, K=k, V=v, mapping="h100_d64", alpha=1.0)
        self.assertIn("no scalar parameter 'alpha'", str(e.exception))
        with self.assertRaises(TypeError) as e:
            p.run(O=buffer(shape, "f"), Q=q, K=k, V=v, mapping="h100_d64", sm_scale="big")
        self.assertIn("scalar 'sm_scale' needs a number", str(e.exception))
        with self.assertRaises(TypeError) as e:
            p.run(O=buffer(shape, "f"), Q=q, K=0.5, V=v, mapping="h100_d64", sm_scale=0.1)
        self.assertIn("tensor 'K' needs an array", str(e.exception))


class Fp8BlockScales(unittest.TestCase):
    def test_block_scales_on_every_cpu_target(self):
        # DeepSeek-V3's scales: sa per row and 128 of K (stored [KB, M]), sw per 128x128 block of
        # W; K and N each span a second, ragged block. Operands hold values e4m3 represents.
        p = grove.load(os.path.join(EXAMPLES, "gemm_fp8_blockwise.grove"))
        m, n, k = 72, 136, 200
        kb, nb = 2, 2
        exact = [-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0]
        a = buffer((m, k), values=[random.choice(exact) for _ in range(m * k)])
        w = buffer((n, k), values=[random.choice(exact) for _ in range(n * k)])
        sa = buffer((kb, m), "f", [random.uniform(0.5, 2) for _ in range(kb * m)])
        sw = buffer((nb, kb), "f", [random.uniform(0.5, 2) for _ in range(nb * kb)])
        want = [sum(a[i, q] * w[j, q] * sa[q // 128, i] * sw[j // 128, q // 128]
                    for q in range(k)) for i in range(m) for j in range(n)]
        for target in ("cpu", "emulator"):
            c = buffer((m, n), values=[float("nan")] * (m * n))
            report = p.run(C=c, A=a, W=w, sa=sa, sw=sw, target=target, schedules=1)
            self.assertEqual(report["sizes"], {"M": m, "N": n, "K": k, "KB": kb, "NB": nb})
            got = [c[i, j] for i in range(m) for j in range(n)]
            self.assertLess(rel_error(got, want), 8e-3, f"{target}: {report['summary']}")


class GroupedQueryAttention(unittest.TestCase):
    def test_query_heads_share_key_value_heads(self):
        p = grove.load(os.path.join(EXAMPLES, "attention_gqa.grove"))
        self.assertEqual(p.signature().task, "attention_gqa")
        self.assertEqual(p.mappings[:3], ["gqa_d128", "gqa_d64", "gqa_d256"])
        bkv, g, s, d, scale = 2, 2, 24, 64, 0.125
        q = buffer((bkv, g, s, d), "f")
        k, v = buffer((bkv, s, d), "f"), buffer((bkv, s, d), "f")
        o = buffer((bkv, g, s, d), "f", [float("nan")] * (bkv * g * s * d))
        report = p.run(O=o, Q=q, K=k, V=v, mapping="gqa_d64", target="emulator", sm_scale=scale)
        self.assertEqual(report["sizes"], {"BKV": bkv, "G": g, "S": s, "D": d})
        got, want = [], []
        for h in range(bkv):
            for gi in range(g):
                for r in range(s):
                    sc = [scale * sum(q[h, gi, r, e] * k[h, c, e] for e in range(d))
                          for c in range(s)]
                    mx = max(sc)
                    w = [math.exp(x - mx) for x in sc]
                    for e in range(d):
                        want.append(sum(w[c] * v[h, c, e] for c in range(s)) / sum(w))
                        got.append(o[h, gi, r, e])
        self.assertLess(rel_error(got, want), 3e-3, report["summary"])


class PrefillAttention(unittest.TestCase):
    def test_queries_at_the_end_of_the_keys(self):
        p = grove.load(os.path.join(EXAMPLES, "attention_prefill.grove"))
        self.assertEqual(p.signature().task, "attention_prefill")
        # SQ < SK (a KV cache), and SQ > SK (the first query rows see no key: zeros).
        for bh, sq, sk, d, scale in ((1, 20, 50, 64, 0.125), (2, 40, 10, 64, 0.125)):
            q = buffer((bh, sq, d), "f")
            k, v = buffer((bh, sk, d), "f"), buffer((bh, sk, d), "f")
            o = buffer((bh, sq, d), "f", [float("nan")] * (bh * sq * d))
            report = p.run(O=o, Q=q, K=k, V=v, mapping="prefill_d64", target="emulator",
                           sm_scale=scale)
            self.assertEqual(report["sizes"], {"BH": bh, "SQ": sq, "SK": sk, "D": d})
            got, want = [], []
            for b in range(bh):
                for r in range(sq):
                    seen = min(sk, r + sk - sq + 1)  # keys 0..r + SK - SQ
                    sc = [scale * sum(q[b, r, e] * k[b, c, e] for e in range(d))
                          for c in range(max(seen, 0))]
                    mx = max(sc, default=0.0)
                    w = [math.exp(x - mx) for x in sc]
                    for e in range(d):
                        want.append(sum(w[c] * v[b, c, e] for c in range(len(w))) / sum(w)
                                    if w else 0.0)
                        got.append(o[b, r, e])
            self.assertLess(rel_error(got, want), 3e-3, report["summary"])
            if sq > sk:
                self.assertEqual(got[:d], [0.0] * d)


class DecodeAttention(unittest.TestCase):
    def test_keys_split_across_blocks_and_merged(self):
        # Two kernels: chunks of 512 keys (the last ragged), then their merge, through
        # temporaries the caller never sees.
        p = grove.load(os.path.join(EXAMPLES, "attention_decode.grove"))
        self.assertEqual([t.name for t in p.signature().tensors], ["O", "Q", "K", "V"])
        bh, sq, sk, d, scale = 2, 2, 600, 64, 0.125
        q = buffer((bh, sq, d), "f")
        k, v = buffer((bh, sk, d), "f"), buffer((bh, sk, d), "f")
        o = buffer((bh, sq, d), "f", [float("nan")] * (bh * sq * d))
        report = p.run(O=o, Q=q, K=k, V=v, mapping="decode_d64", target="emulator",
                       sm_scale=scale)
        got, want = [], []
        for b in range(bh):
            for r in range(sq):
                sc = [scale * sum(q[b, r, e] * k[b, c, e] for e in range(d)) for c in range(sk)]
                mx = max(sc)
                w = [math.exp(x - mx) for x in sc]
                for e in range(d):
                    want.append(sum(w[c] * v[b, c, e] for c in range(sk)) / sum(w))
                    got.append(o[b, r, e])
        self.assertLess(rel_error(got, want), 3e-3, report["summary"])


NO_GPU = ("no CUDA driver", "no CUDA-capable device", "sees no GPU", "is not GPU memory")


class FakeCudaArray:
    """What CuPy and Numba expose, at an address that is no one's GPU memory: everything before
    the driver checks it."""

    def __init__(self, shape, typestr="<f2", strides=None, readonly=False, address=0x7f0000000000):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr,
                                         "data": (address, readonly), "strides": strides,
                                         "version": 3}


class FakeTorch:
    """Duck-typed like a torch tensor (data_ptr, stride, dtype, is_cuda, shape)."""

    def __init__(self, shape, dtype="torch.float16", is_cuda=True):
        self.shape, self.dtype, self.is_cuda = shape, dtype, is_cuda

    def data_ptr(self):
        return 0x7f0000100000

    def stride(self):
        return tuple(math.prod(self.shape[i + 1:]) for i in range(len(self.shape)))


class Launch(unittest.TestCase):
    """Program.launch on GPU arrays: what is checked before the GPU, on any machine."""

    def setUp(self):
        self.p = grove.load(os.path.join(EXAMPLES, "gemm.grove"))

    def assert_stops_at_the_gpu(self, **arrays):
        with self.assertRaises(grove.GroveError) as e:
            self.p.launch(mapping="h100", **arrays)
        self.assertTrue(any(s in str(e.exception) for s in NO_GPU), str(e.exception))

    def test_device_array(self):
        a = grove.DeviceArray(0x7f0000000000, "bf16", [8, 8])
        self.assertEqual((a.data, a.dtype, a.shape, a.strides), (0x7f0000000000, "bf16", [8, 8], []))
        with self.assertRaises(ValueError) as e:
            grove.DeviceArray(0, "f64", [4])
        self.assertIn("dtype 'f64' is not one of f16, bf16, f32, e4m3, e5m2", str(e.exception))
        with self.assertRaises(grove.GroveError) as e:
            self.p.launch(C=a, A=a, B=a)
        self.assertIn("tensor 'C' is f16, but its array holds bf16 elements", str(e.exception))

    def test_every_kind_of_array_reaches_the_gpu(self):
        m, n, k = 200, 100, 100  # rows of 200 bytes: 104 elements apart on the device
        c = grove.DeviceArray(0x7f0000200000, "f16", [m, n], [104, 1])
        a = FakeCudaArray((m, k), strides=(208, 2))  # strides in bytes
        b = FakeTorch((k, 128))
        self.assert_stops_at_the_gpu(C=grove.DeviceArray(0x7f0000200000, "f16", [m, 128]),
                                     A=a, B=b)
        with self.assertRaises(grove.GroveError) as e:
            self.p.launch(C=c, A=FakeCudaArray((m, k)), B=FakeTorch((k, n)))
        self.assertIn("array for tensor 'A' has rows of 100 f16, not a multiple of 16 bytes",
                      str(e.exception))

    def test_fp8_arrays(self):
        # float8_e4m3fn torch tensors and "e4m3" arrays reach the GPU for e4m3 tensors; an f16
        # tensor is refused for one, as for any other type.
        fp8 = grove.load(os.path.join(EXAMPLES, "gemm_fp8.grove"))
        c = grove.DeviceArray(0x7f0000400000, "bf16", [128, 128])
        a = FakeTorch((128, 128), dtype="torch.float8_e4m3fn")
        w = grove.DeviceArray(0x7f0000200000, "e4m3", [128, 128])
        with self.assertRaises(grove.GroveError) as e:
            fp8.launch(C=c, A=a, W=w, scale=0.5, mapping="h100")
        self.assertTrue(any(s in str(e.exception) for s in NO_GPU), str(e.exception))
        with self.assertRaises(grove.GroveError) as e:
            fp8.launch(C=c, A=FakeTorch((128, 128)), W=w)
        self.assertIn("tensor 'A' is e4m3, but its array holds f16 elements", str(e.exception))

    def test_dynamic_sizes(self):
        c, a, b = (grove.DeviceArray(0x7f0000000000 + i * 0x100000, "f16", [128, 128])
                   for i in range(3))
        with self.assertRaises(grove.GroveError) as e:
            self.p.launch(C=c, A=a, B=b, dynamic={"M", "N"})
        self.assertTrue(any(s in str(e.exception) for s in NO_GPU), str(e.exception))
        with self.assertRaises(grove.GroveError) as e:
            self.p.launch(C=c, A=a, B=b, dynamic=["Q"])
        self.assertIn("'Q' is not a size of task 'gemm', so it cannot be dynamic",
                      str(e.exception))
        with self.assertRaises(TypeError) as e:
            self.p.launch(C=c, A=a, B=b, dynamic="M")
        self.assertIn("dynamic takes a collection of size names", str(e.exception))

    def test_arrays_launch_cannot_take(self):
        b = FakeTorch((64, 64))
        with self.assertRaises(ValueError) as e:
            self.p.launch(C=FakeCudaArray((64, 64), readonly=True), A=b, B=b)
        self.assertIn("array 'C' is read-only", str(e.exception))
        with self.assertRaises(TypeError) as e:
            self.p.launch(C=FakeCudaArray((64, 64), typestr="<f8"), A=b, B=b)
        self.assertIn("holds elements of type '<f8'", str(e.exception))
        with self.assertRaises(ValueError) as e:
            self.p.launch(C=FakeCudaArray((64, 64), strides=(129, 2)), A=b, B=b)
        self.assertIn("array 'C' has a stride of 129 bytes, not a whole number of elements",
                      str(e.exception))
        with self.assertRaises(TypeError) as e:
            self.p.launch(C=b, A=FakeTorch((64, 64), is_cuda=False), B=b)
        self.assertIn("tensor 'A' is a torch tensor in host memory", str(e.exception))
        with self.assertRaises(TypeError) as e:
            self.p.launch(C=b, A=FakeTorch((64, 64), dtype="torch.int8"), B=b)
        self.assertIn("torch tensor of torch.int8", str(e.exception))
        with self.assertRaises(TypeError) as e:
            self.p.launch(C=b, A=buffer((64, 64)), B=b)
        self.assertIn("tensor 'A' needs a GPU array for launch()", str(e.exception))
        with self.assertRaises(TypeError) as e:
            self.p.launch(C=b, A=b, B=b, D=b)
        self.assertIn("task 'gemm' has no tensor 'D'", str(e.exception))


try:
    import numpy as np
except ImportError:
    np = None


@unittest.skipIf(np is None, "numpy is not installed")
class Numpy(unittest.TestCase):
    def test_float16_arrays(self):
        p = grove.load(os.path.join(EXAMPLES, "gemm.grove"), types={"T": "bf16"})
        rng = np.random.default_rng()
        a = rng.uniform(-1, 1, (130, 72)).astype(np.float16)
        b = rng.uniform(-1, 1, (72, 200)).astype(np.float16)
        c = np.full((130, 200), np.nan, np.float32)
        p.run(C=c, A=a, B=b)
        attn = grove.load(os.path.join(EXAMPLES, "attention.grove"))
        o = np.zeros((1, 40, 64), np.float32)
        q = rng.uniform(-1, 1, o.shape).astype(np.float16)
        attn.run(O=o, Q=q, K=q, V=q, mapping="h100_d64", sm_scale=np.float32(0.125))
        self.assertTrue(np.isfinite(o).all() and np.abs(o).max() > 0)
        # The bf16 program rounds the f16 inputs to bf16 on the way in.
        ref = a.astype(np.float64) @ b.astype(np.float64)
        self.assertLess(np.linalg.norm(c - ref) / np.linalg.norm(ref), 1e-2)
        with self.assertRaises(ValueError) as e:
            p.run(C=np.zeros((200, 130), np.float32).T, A=a, B=b)
        self.assertIn("C-contiguous", str(e.exception))


if __name__ == "__main__":
    unittest.main()
