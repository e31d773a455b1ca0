// See include/myelin_mpi.h. Open MPI's ABI: handles are pointers to exported structs
// (ompi_mpi_comm_world, ompi_mpi_float, ompi_mpi_op_sum...), MPI_IN_PLACE is (void *)1,
// MPI_THREAD_SERIALIZED is 2. Those are stable across Open MPI 1.x to 5.x (libmpi.so.40 since 3.0).
#define _GNU_SOURCE
#include "myelin_mpi.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void *Handle;
#define IN_PLACE ((void *)1)
#define THREAD_SERIALIZED 2

static void *lib;
static int active;
static Handle comm_world, type_float, type_double, type_int64, type_byte, op_sum, op_max, op_min;
static int (*p_init_thread)(int *, char ***, int, int *);
static int (*p_finalize)(void);
static int (*p_finalized)(int *);
static int (*p_comm_rank)(Handle, int *);
static int (*p_comm_size)(Handle, int *);
static int (*p_allreduce)(const void *, void *, int, Handle, Handle, Handle);
static int (*p_bcast)(void *, int, Handle, int, Handle);
static int (*p_barrier)(Handle);
static int (*p_allgather)(const void *, int, Handle, void *, int, Handle, Handle);
static int (*p_abort)(Handle, int);
static int (*p_error_string)(int, char *, int *);
static double (*p_wtime)(void);

static void *resolve(const char *name, char *error, size_t length, int *failed) {
    void *p = dlsym(lib, name);
    if (!p && !*failed) {
        snprintf(error, length, "libmpi has no symbol %s (not Open MPI?)", name);
        *failed = 1;
    }
    return p;
}

int myelin_mpi_load(const char *path, char *error, size_t error_length) {
    if (lib) return 0;
    const char *candidates[] = {path, "libmpi.so.40", "libmpi.so"};
    for (int i = 0; i < 3 && !lib; i++) {
        if (!candidates[i]) continue;
        // RTLD_GLOBAL: Open MPI's plugins (mca_*.so) look up libmpi's symbols.
        lib = dlopen(candidates[i], RTLD_NOW | RTLD_GLOBAL);
    }
    if (!lib) {
        const char *why = dlerror();
        snprintf(error, error_length, "cannot open libmpi.so.40 (install openmpi-bin and libopenmpi-dev): %s",
                 why ? why : "not found");
        return -1;
    }
    int failed = 0;
    comm_world = resolve("ompi_mpi_comm_world", error, error_length, &failed);
    type_float = resolve("ompi_mpi_float", error, error_length, &failed);
    type_double = resolve("ompi_mpi_double", error, error_length, &failed);
    type_int64 = resolve("ompi_mpi_int64_t", error, error_length, &failed);
    type_byte = resolve("ompi_mpi_byte", error, error_length, &failed);
    op_sum = resolve("ompi_mpi_op_sum", error, error_length, &failed);
    op_max = resolve("ompi_mpi_op_max", error, error_length, &failed);
    op_min = resolve("ompi_mpi_op_min", error, error_length, &failed);
    *(void **)&p_init_thread = resolve("MPI_Init_thread", error, error_length, &failed);
    *(void **)&p_finalize = resolve("MPI_Finalize", error, error_length, &failed);
    *(void **)&p_finalized = resolve("MPI_Finalized", error, error_length, &failed);
    *(void **)&p_comm_rank = resolve("MPI_Comm_rank", error, error_length, &failed);
    *(void **)&p_comm_size = resolve("MPI_Comm_size", error, error_length, &failed);
    *(void **)&p_allreduce = resolve("MPI_Allreduce", error, error_length, &failed);
    *(void **)&p_bcast = resolve("MPI_Bcast", error, error_length, &failed);
    *(void **)&p_barrier = resolve("MPI_Barrier", error, error_length, &failed);
    *(void **)&p_allgather = resolve("MPI_Allgather", error, error_length, &failed);
    *(void **)&p_abort = resolve("MPI_Abort", error, error_length, &failed);
    *(void **)&p_error_string = resolve("MPI_Error_string", error, error_length, &failed);
    *(void **)&p_wtime = resolve("MPI_Wtime", error, error_length, &failed);
    if (failed) {
        dlclose(lib);
        lib = NULL;
        return -1;
    }
    return 0;
}

int myelin_mpi_init(int *rank, int *size, int *provided) {
    if (!lib) return -1;
    int code = p_init_thread(NULL, NULL, THREAD_SERIALIZED, provided);
    if (code != 0) return code;
    active = 1;
    if ((code = p_comm_rank(comm_world, rank)) != 0) return code;
    return p_comm_size(comm_world, size);
}

int myelin_mpi_finalize(void) {
    if (!lib || !active) return 0;
    active = 0;
    return p_finalize();
}

int myelin_mpi_active(void) { return active; }

static Handle type_of(int type) {
    return type == MYELIN_MPI_FLOAT ? type_float : type == MYELIN_MPI_DOUBLE ? type_double : type_int64;
}

static Handle op_of(int op) { return op == MYELIN_MPI_SUM ? op_sum : op == MYELIN_MPI_MAX ? op_max : op_min; }

// Counts above INT_MAX go in chunks.
#define CHUNK ((int64_t)1 << 30)

int myelin_mpi_allreduce(void *buffer, int64_t count, int type, int op) {
    size_t width = type == MYELIN_MPI_FLOAT ? 4 : 8;
    for (int64_t start = 0; start < count; start += CHUNK) {
        int64_t n = count - start < CHUNK ? count - start : CHUNK;
        int code = p_allreduce(IN_PLACE, (char *)buffer + start * width, (int)n, type_of(type), op_of(op), comm_world);
        if (code != 0) return code;
    }
    return 0;
}

int myelin_mpi_bcast(void *buffer, int64_t bytes, int root) {
    for (int64_t start = 0; start < bytes; start += CHUNK) {
        int64_t n = bytes - start < CHUNK ? bytes - start : CHUNK;
        int code = p_bcast((char *)buffer + start, (int)n, type_byte, root, comm_world);
        if (code != 0) return code;
    }
    return 0;
}

int myelin_mpi_barrier(void) { return p_barrier(comm_world); }

int myelin_mpi_allgather(const void *send, void *receive, int64_t bytes) {
    if (bytes > CHUNK) return -2;
    return p_allgather(send, (int)bytes, type_byte, receive, (int)bytes, type_byte, comm_world);
}

void myelin_mpi_abort(int code) {
    if (lib && active) p_abort(comm_world, code);
    exit(code);
}

void myelin_mpi_error_string(int code, char *text, size_t length) {
    int written = 0;
    if (lib && code > 0 && length >= 256 && p_error_string(code, text, &written) == 0) return;
    snprintf(text, length, "MPI error %d", code);
}

double myelin_mpi_allreduce_loop(int64_t count, int iterations) {
    if (!lib || !active || iterations <= 0 || count > CHUNK) return -1;
    float *buffer = malloc((size_t)count * sizeof(float));
    if (!buffer) return -1;
    for (int64_t i = 0; i < count; i++) buffer[i] = 1.0f;
    if (p_allreduce(IN_PLACE, buffer, (int)count, type_float, op_sum, comm_world) != 0) { free(buffer); return -1; }
    p_barrier(comm_world);
    double start = p_wtime();
    for (int i = 0; i < iterations; i++) {
        if (p_allreduce(IN_PLACE, buffer, (int)count, type_float, op_sum, comm_world) != 0) { free(buffer); return -1; }
    }
    double seconds = (p_wtime() - start) / iterations;
    free(buffer);
    return seconds;
}
