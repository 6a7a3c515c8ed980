/* The C API: the C++ API of grove.h for C and for foreign-function interfaces. Every call that
 * can fail returns a status (0 success) or NULL and, when `error` is not NULL, stores a report in
 * the format of docs/diagnostics.md there, to be released with grove_free.
 *
 *   char* err = NULL;
 *   grove_program* p = grove_load("examples/gemm.grove", &err);
 *   int64_t c_shape[] = {M, N}, a_shape[] = {M, K}, b_shape[] = {K, N};
 *   grove_array arrays[] = {{"C", c, GROVE_F32, 2, c_shape},
 *                           {"A", a, GROVE_F16, 2, a_shape},
 *                           {"B", b, GROVE_F16, 2, b_shape}};
 *   if (grove_run(p, "h100", GROVE_CPU, arrays, 3, NULL, 0, &err) != 0) { puts(err); }
 *   grove_free(err);
 *   grove_program_free(p);
 */
#ifndef GROVE_C_H
#define GROVE_C_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct grove_program grove_program;

/* In C++ the enums below have int as their underlying type: C lets a caller pass any int, and
 * grove_run checks it, which for an enum without a fixed type would be undefined in C++. */
#ifdef __cplusplus
#define GROVE_ENUM enum : int
#else
#define GROVE_ENUM enum
#endif
/* (clang-format would read GROVE_ENUM as a call, not as the enum it stands for.) */
/* clang-format off */

/* How an array stores its elements (F16, BF16: the 16-bit patterns; E4M3, E5M2: the 8-bit ones).
 * Any of them serves a tensor of any element type; values are rounded to the tensor's type on the
 * way in. */
typedef GROVE_ENUM {
  GROVE_F16 = 0, GROVE_BF16 = 1, GROVE_F32 = 2, GROVE_F64 = 3, GROVE_E4M3 = 4, GROVE_E5M2 = 5
} grove_dtype;

/* Where a run happens: the reference interpreter under the mapping, the task's float64 reference
 * variant, the emulator of the lowered kernels, or GPU 0. */
typedef GROVE_ENUM {
  GROVE_CPU = 0, GROVE_REFERENCE = 1, GROVE_EMULATOR = 2, GROVE_GPU = 3
} grove_target;
/* clang-format on */

/* A dense row-major array of the caller's, for the tensor parameter `name`. */
typedef struct {
  const char* name;
  void* data;
  grove_dtype dtype;
  int rank;
  const int64_t* shape;
} grove_array;

typedef struct {
  const char* name;
  double value;
} grove_scalar;

/* An array in GPU memory of the caller's, for grove_launch: its dtype must be the tensor's (no
 * conversion), 16-byte aligned, row-major with rows a multiple of 16 bytes apart. `strides` (in
 * elements, `rank` of them) may be NULL where rows are a multiple of 16 bytes long (dense). */
typedef struct {
  const char* name;
  uint64_t data;
  grove_dtype dtype;
  int rank;
  const int64_t* shape;
  const int64_t* strides;
} grove_device_array;

grove_program* grove_load(const char* path, char** error);
/* grove_load with the program's type parameters set: `types` is "T=bf16" or "T=bf16,U=f32"
 * (NULL or "": as written). */
grove_program* grove_load_with_types(const char* path, const char* types, char** error);
grove_program* grove_from_source(const char* text, const char* name, char** error);
void grove_program_free(grove_program* p);

/* The program's mappings, in file order; the name stays valid while the program lives. */
int grove_mapping_count(const grove_program* p);
const char* grove_mapping_name(const grove_program* p, int i);

/* Runs the mapping's entry task (mapping NULL or "": the first) on the arrays, one per tensor
 * parameter; sizes come from their shapes; the tensors the task writes are written back. */
int grove_run(const grove_program* p, const char* mapping, grove_target target,
              const grove_array* arrays, int n_arrays, const grove_scalar* scalars, int n_scalars,
              char** error);

/* Launches the mapping's kernels on GPU memory of the caller's, in order on `stream` (a CUstream or
 * cudaStream_t; NULL: the default stream), and returns without waiting for them. The first launch
 * for a mapping and sizes compiles and loads the kernels; later ones reuse them. `dynamic` ("M,K";
 * NULL or "": none) names sizes left as kernel parameters, so one compile serves every value of
 * them. Thread-safe. */
int grove_launch(const grove_program* p, const char* mapping, const grove_device_array* arrays,
                 int n_arrays, const grove_scalar* scalars, int n_scalars, const char* dynamic,
                 void* stream, char** error);

/* The CUDA C++ the mapping prints with these sizes fixed ("M=512,N=512"; NULL or "": none),
 * released with grove_free; NULL on error. */
char* grove_cuda(const grove_program* p, const char* mapping, const char* sizes, char** error);

void grove_free(void* s);

#ifdef __cplusplus
}
#endif
#endif /* GROVE_C_H */
