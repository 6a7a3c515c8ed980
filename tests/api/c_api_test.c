/* The C API from C (so grove_c.h stays C): a ragged GEMM on fresh random inputs against a float64
 * product, the error a caller gets for disagreeing shapes, and the printed CUDA. Exit status 0
 * when every check holds. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/grove_c.h"

static int failures = 0;

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                     \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
      ++failures;                                                                                  \
    }                                                                                              \
  } while (0)

int main(void) {
  enum { M = 100, N = 264, K = 72 };
  char* err = NULL;
  grove_program* p = grove_load(GROVE_SOURCE_DIR "/examples/gemm.grove", &err);
  CHECK(p != NULL, "%s", err ? err : "");
  if (!p) return 1;
  CHECK(grove_mapping_count(p) == 3, "%d mappings", grove_mapping_count(p));
  CHECK(strcmp(grove_mapping_name(p, 0), "h100") == 0, "%s", grove_mapping_name(p, 0));
  CHECK(grove_mapping_name(p, 3) == NULL, "past the end");

  /* Inputs in float, of values already f16 (multiples of 2^-10 in [-1, 1]). */
  float* a = malloc(sizeof(float) * M * K);
  float* b = malloc(sizeof(float) * K * N);
  double* c = malloc(sizeof(double) * M * N);
  srand((unsigned)time(NULL));
  for (int i = 0; i < M * K; ++i) a[i] = (float)(rand() % 2049 - 1024) / 1024.0f;
  for (int i = 0; i < K * N; ++i) b[i] = (float)(rand() % 2049 - 1024) / 1024.0f;
  for (int i = 0; i < M * N; ++i) c[i] = NAN;
  int64_t c_shape[] = {M, N}, a_shape[] = {M, K}, b_shape[] = {K, N};
  grove_array arrays[] = {{"C", c, GROVE_F64, 2, c_shape},
                          {"A", a, GROVE_F32, 2, a_shape},
                          {"B", b, GROVE_F32, 2, b_shape}};
  int rc = grove_run(p, "h100", GROVE_EMULATOR, arrays, 3, NULL, 0, &err);
  CHECK(rc == 0 && err == NULL, "%s", err ? err : "");
  double num = 0, den = 0;
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double want = 0;
      for (int k = 0; k < K; ++k) want += (double)a[i * K + k] * b[k * N + j];
      num += (c[i * N + j] - want) * (c[i * N + j] - want);
      den += want * want;
    }
  CHECK(sqrt(num / den) < 2e-3, "||out - ref|| / ||ref|| = %g", sqrt(num / den));

  /* Disagreeing shapes: an error naming the file and the size. */
  int64_t bad_shape[] = {K + 1, N};
  arrays[2].shape = bad_shape;
  rc = grove_run(p, NULL, GROVE_CPU, arrays, 3, NULL, 0, &err);
  CHECK(rc != 0 && err != NULL, "no error");
  if (err) {
    CHECK(strstr(err, "gemm.grove:10:") != NULL, "%s", err);
    CHECK(strstr(err, "size K is 73") != NULL, "%s", err);
    grove_free(err);
  }
  grove_array unnamed = {NULL, c, GROVE_F64, 2, c_shape};
  rc = grove_run(p, NULL, GROVE_CPU, &unnamed, 1, NULL, 0, &err);
  CHECK(rc != 0 && err && strstr(err, "has no name"), "%s", err ? err : "no error");
  grove_free(err);

  /* Arguments C cannot check for the caller. */
  grove_array twice[] = {{"A", a, GROVE_F32, 2, a_shape}, {"A", a, GROVE_F32, 2, a_shape}};
  rc = grove_run(p, NULL, GROVE_CPU, twice, 2, NULL, 0, &err);
  CHECK(rc != 0 && err && strstr(err, "two arrays are named 'A'"), "%s", err ? err : "no error");
  grove_free(err);
  grove_array bad_dtype = {"A", a, (grove_dtype)7, 2, a_shape};
  rc = grove_run(p, NULL, GROVE_CPU, &bad_dtype, 1, NULL, 0, &err);
  CHECK(rc != 0 && err && strstr(err, "has dtype 7, not a grove_dtype"), "%s",
        err ? err : "no error");
  grove_free(err);
  grove_array no_shape = {"A", a, GROVE_F32, 2, NULL};
  rc = grove_run(p, NULL, GROVE_CPU, &no_shape, 1, NULL, 0, &err);
  CHECK(rc != 0 && err && strstr(err, "array 'A' has no shape"), "%s", err ? err : "no error");
  grove_free(err);
  rc = grove_run(p, NULL, (grove_target)9, arrays, 3, NULL, 0, &err);
  CHECK(rc != 0 && err && strstr(err, "target 9 is not a grove_target"), "%s",
        err ? err : "no error");
  grove_free(err);
  rc = grove_run(p, NULL, GROVE_CPU, NULL, 3, NULL, 0, &err);
  CHECK(rc != 0 && err && strstr(err, "is NULL"), "%s", err ? err : "no error");
  grove_free(err);

  /* grove_launch: its arguments and the element-type check hold without a GPU; past them, a
   * machine without a driver says so (addresses that are no one's GPU memory, where there is one).
   */
  {
    int64_t d_shape[] = {128, 128}, wrong_strides[] = {64, 1};
    grove_device_array dev[] = {{"C", 0x7f0000000000ull, GROVE_F16, 2, d_shape, NULL},
                                {"A", 0x7f0000100000ull, GROVE_F16, 2, d_shape, NULL},
                                {"B", 0x7f0000200000ull, GROVE_F16, 2, d_shape, NULL}};
    rc = grove_launch(p, "h100", dev, 3, NULL, 0, NULL, NULL, &err);
    CHECK(rc != 0 && err && (strstr(err, "no CUDA driver") || strstr(err, "is not GPU memory")),
          "%s", err ? err : "no error");
    grove_free(err);
    dev[0].dtype = GROVE_F32;
    rc = grove_launch(p, "h100", dev, 3, NULL, 0, NULL, NULL, &err);
    CHECK(rc != 0 && err && strstr(err, "tensor 'C' is f16, but its array holds f32 elements"),
          "%s", err ? err : "no error");
    grove_free(err);
    dev[0].dtype = GROVE_F16;
    dev[1].strides = wrong_strides;
    rc = grove_launch(p, "h100", dev, 3, NULL, 0, NULL, NULL, &err);
    CHECK(rc != 0 && err && strstr(err, "has strides (64, 1) (elements), but the kernels"), "%s",
          err ? err : "no error");
    grove_free(err);
    dev[1].strides = NULL;
    rc = grove_launch(p, "h100", dev, 3, NULL, 0, "M, Q", NULL, &err);
    CHECK(rc != 0 && err && strstr(err, "'Q' is not a size of task 'gemm'"), "%s",
          err ? err : "no error");
    grove_free(err);
    rc = grove_launch(p, "h100", dev, 3, NULL, 0, "M,K", NULL, &err);
    CHECK(rc != 0 && err && (strstr(err, "no CUDA driver") || strstr(err, "is not GPU memory")),
          "%s", err ? err : "no error");
    grove_free(err);
    dev[1].name = "C";
    rc = grove_launch(p, "h100", dev, 3, NULL, 0, NULL, NULL, &err);
    CHECK(rc != 0 && err && strstr(err, "grove_launch: two arrays are named 'C'"), "%s",
          err ? err : "no error");
    grove_free(err);
  }

  char* cu = grove_cuda(p, "h100", "M=512,N=512", &err);
  CHECK(cu && strstr(cu, "__global__"), "%s", err ? err : "no kernel");
  grove_free(cu);
  cu = grove_cuda(p, "h100", "M=oops", &err);
  CHECK(cu == NULL && err && strstr(err, "NAME=INTEGER"), "%s", err ? err : "no error");
  grove_free(err);

  grove_program* bad = grove_from_source("task t(C: write f16[M]);\nvariant", "x.grove", &err);
  CHECK(bad == NULL && err && strstr(err, "x.grove:2:"), "%s", err ? err : "no error");
  grove_free(err);

  /* Type arguments: attention.grove's `type T = f16;` set to bf16; a name it lacks refused. */
  grove_program* attn =
      grove_load_with_types(GROVE_SOURCE_DIR "/examples/attention.grove", "T=bf16", &err);
  CHECK(attn != NULL, "%s", err ? err : "");
  cu = attn ? grove_cuda(attn, "h100_d64", "D=64", &err) : NULL;
  CHECK(cu && strstr(cu, "wgmma_m64n64k16_bf16"), "%s", err ? err : "not bf16");
  grove_free(cu);
  grove_program_free(attn);
  attn = grove_load_with_types(GROVE_SOURCE_DIR "/examples/attention.grove", "E=bf16", &err);
  CHECK(attn == NULL && err && strstr(err, "no type parameter 'E'"), "%s", err ? err : "loaded");
  grove_free(err);
  attn = grove_load_with_types(GROVE_SOURCE_DIR "/examples/attention.grove", "T", &err);
  CHECK(attn == NULL && err && strstr(err, "expected NAME=TYPE"), "%s", err ? err : "loaded");
  grove_free(err);

  /* A NULL path is an error, not a crash. */
  bad = grove_load(NULL, &err);
  CHECK(bad == NULL && err && strstr(err, "grove_load: path is NULL"), "%s", err ? err : "loaded");
  grove_free(err);
  bad = grove_load_with_types(NULL, "T=bf16", &err);
  CHECK(bad == NULL && err && strstr(err, "grove_load_with_types: path is NULL"), "%s",
        err ? err : "loaded");
  grove_free(err);

  free(a);
  free(b);
  free(c);
  grove_program_free(p);
  if (failures == 0) printf("c_api_test: every check holds\n");
  return failures == 0 ? 0 : 1;
}
