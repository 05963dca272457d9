/* Machine limits for benchmarks/run.py, on every core OpenMP gives us.
 *
 *   cc -O3 -march=native -fopenmp -ffp-contract=fast limits.c -o limits
 *   ./limits TRIAD_FLOATS TOUCH_BYTES FMA_ITERS
 *
 * prints one JSON object:
 *   triad_GBs       a[i] = b[i] + s * c[i] over float arrays of TRIAD_FLOATS
 *                   elements, best of several runs, counted as STREAM does:
 *                   3 arrays x 4 bytes per element (no write-allocate traffic);
 *   touch_4k_GBs    writing TOUCH_BYTES into memory just mapped (mmap), so
 *                   every 4 KiB page faults on first touch;
 *   touch_huge_GBs  the same after madvise(MADV_HUGEPAGE): 2 MiB pages where
 *                   the kernel's transparent huge pages allow them;
 *   rewrite_GBs     writing the same bytes again once they are mapped;
 *   fma_GFLOPs      float32 fused multiply-adds, CHAINS independent vector
 *                   chains per thread (2 flops per lane per FMA);
 *   lanes, threads  the float lanes of the vectors used and the thread count.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif
#define CHAINS 16
#define HUGE_PAGE (2UL << 20)

typedef float vfloat __attribute__((vector_size(LANES * sizeof(float))));

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static double triad(size_t n, int reps) {
    float *a = aligned_alloc(HUGE_PAGE, n * sizeof(float));
    float *b = aligned_alloc(HUGE_PAGE, n * sizeof(float));
    float *c = aligned_alloc(HUGE_PAGE, n * sizeof(float));
    if (!a || !b || !c) return 0.0;
    const float s = 3.0f;
    /* first touch by the threads that later use each part */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) { a[i] = 0.0f; b[i] = 1.0f; c[i] = 2.0f; }
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = now();
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
        t = now() - t;
        if (t < best) best = t;
    }
    volatile float keep = a[n / 2];
    (void)keep;
    free(a); free(b); free(c);
    return 3.0 * sizeof(float) * (double)n / best / 1e9;
}

static void fill(char *p, size_t bytes) {
    const size_t chunk = 1UL << 20;
#pragma omp parallel for schedule(static)
    for (size_t off = 0; off < bytes; off += chunk) memset(p + off, 1, bytes - off < chunk ? bytes - off : chunk);
}

/* GB/s of writing fresh mappings (best of reps); *rewrite gets the GB/s of writing them again */
static double first_touch(size_t bytes, int huge, int reps, double *rewrite) {
    double best = 1e30, again = 1e30;
    for (int r = 0; r < reps; r++) {
        size_t len = bytes + HUGE_PAGE;
        char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (raw == MAP_FAILED) return 0.0;
        char *p = (char *)(((size_t)raw + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
#ifdef MADV_HUGEPAGE
        if (huge) madvise(p, bytes, MADV_HUGEPAGE);
#endif
        double t = now();
        fill(p, bytes);
        t = now() - t;
        if (t < best) best = t;
        t = now();
        fill(p, bytes);
        t = now() - t;
        if (t < again) again = t;
        munmap(raw, len);
    }
    if (rewrite) *rewrite = (double)bytes / again / 1e9;
    return (double)bytes / best / 1e9;
}

static double fma_peak(long iters, int reps) {
    double best = 1e30;
    float sink = 0.0f;
    for (int r = 0; r < reps; r++) {
        double t = now();
#pragma omp parallel reduction(+ : sink)
        {
            volatile float seed = 1.0f;  /* opaque to the optimiser: nothing folds away */
            vfloat acc[CHAINS], m, c;
            for (int k = 0; k < LANES; k++) { m[k] = 0.9999f * seed; c[k] = 1e-4f * seed; }
            for (int j = 0; j < CHAINS; j++)
                for (int k = 0; k < LANES; k++) acc[j][k] = seed + 0.01f * (float)j;
            for (long i = 0; i < iters; i++)
                for (int j = 0; j < CHAINS; j++) acc[j] = acc[j] * m + c;
            for (int j = 0; j < CHAINS; j++)
                for (int k = 0; k < LANES; k++) sink += acc[j][k];
        }
        t = now() - t;
        if (t < best) best = t;
    }
    volatile float keep = sink;
    (void)keep;
    return 2.0 * LANES * CHAINS * (double)iters * threads() / best / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s TRIAD_FLOATS TOUCH_BYTES FMA_ITERS\n", argv[0]);
        return 2;
    }
    size_t n = strtoull(argv[1], NULL, 10), bytes = strtoull(argv[2], NULL, 10);
    long iters = strtol(argv[3], NULL, 10);
    fma_peak(iters / 4, 1); /* warm-up: clocks up, threads started */
    double fma = fma_peak(iters, 10);
    double tri = triad(n, 10);
    double rewrite = 0.0;
    double touch4k = first_touch(bytes, 0, 3, &rewrite);
    double touchhuge = first_touch(bytes, 1, 3, NULL);
    printf("{\"triad_GBs\": %.3f, \"touch_4k_GBs\": %.3f, \"touch_huge_GBs\": %.3f, \"rewrite_GBs\": %.3f, "
           "\"fma_GFLOPs\": %.3f, \"lanes\": %d, \"threads\": %d}\n",
           tri, touch4k, touchhuge, rewrite, fma, LANES, threads());
    return 0;
}
