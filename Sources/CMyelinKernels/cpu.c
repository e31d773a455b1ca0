// Which vector instructions this CPU and OS support, checked once with cpuid.
#include "myelin_kernels.h"

#if defined(__x86_64__)
#include <cpuid.h>

int myelin_cpu_has_avx2_fma(void) {
    // Read and written by any thread; relaxed atomics, since every thread computes the same value.
    static int cached = -1;
    int known = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (known >= 0) return known;
    unsigned a, b, c, d;
    int ok = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
        if (fma && osxsave && avx) {
            unsigned lo, hi;
            __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
            // The OS saves the YMM state (bits 1 and 2 of XCR0).
            if ((lo & 6) == 6 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) ok = (b >> 5) & 1;
        }
    }
    __atomic_store_n(&cached, ok, __ATOMIC_RELAXED);
    return ok;
}

int myelin_cpu_has_avx512f(void) {
    static int cached = -1;
    int known = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (known >= 0) return known;
    unsigned a, b, c, d;
    int ok = 0;
    if (myelin_cpu_has_avx2_fma() && __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((b >> 16) & 1)) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        // The OS saves the YMM (bits 1-2), opmask and ZMM (bits 5-7) state.
        ok = (lo & 0xE6) == 0xE6;
    }
    __atomic_store_n(&cached, ok, __ATOMIC_RELAXED);
    return ok;
}

#else

int myelin_cpu_has_avx2_fma(void) { return 0; }
int myelin_cpu_has_avx512f(void) { return 0; }

#endif
