#include <cblas.h>
// glibc's allocator tuning (mallopt), used with OpenBLAS on Linux only.
#include <malloc.h>
