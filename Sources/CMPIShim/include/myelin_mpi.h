// Open MPI loaded at run time: the package builds and runs where Open MPI is absent, and uses it
// when `libmpi.so.40` can be opened (a process started by `mpirun`). MPI's handles (MPI_COMM_WORLD,
// MPI_FLOAT, MPI_SUM...) are macros over Open MPI's exported globals; this shim resolves them with
// dlsym so Swift never sees a macro.
#ifndef MYELIN_MPI_H
#define MYELIN_MPI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Element types of reductions.
enum { MYELIN_MPI_FLOAT = 0, MYELIN_MPI_DOUBLE = 1, MYELIN_MPI_INT64 = 2 };
/// Reduction ops.
enum { MYELIN_MPI_SUM = 0, MYELIN_MPI_MAX = 1, MYELIN_MPI_MIN = 2 };

/// Opens the MPI library (`path`, or libmpi.so.40 / libmpi.so when NULL) and resolves its symbols.
/// Returns 0, or -1 with a message in `error`.
int myelin_mpi_load(const char *path, char *error, size_t error_length);
/// MPI_Init_thread asking for MPI_THREAD_SERIALIZED (any thread, one at a time); fills rank and size.
/// Returns MPI's code (0 is success).
int myelin_mpi_init(int *rank, int *size, int *provided);
int myelin_mpi_finalize(void);
/// 1 when MPI_Init ran and MPI_Finalize did not.
int myelin_mpi_active(void);
/// In-place allreduce of `count` elements of `type` with `op` over MPI_COMM_WORLD.
int myelin_mpi_allreduce(void *buffer, int64_t count, int type, int op);
/// Broadcast of `bytes` bytes from `root` over MPI_COMM_WORLD (in chunks below 2^31).
int myelin_mpi_bcast(void *buffer, int64_t bytes, int root);
int myelin_mpi_barrier(void);
/// Gathers `bytes` bytes from each rank into `receive` (size * bytes), in rank order.
int myelin_mpi_allgather(const void *send, void *receive, int64_t bytes);
/// MPI_Abort over MPI_COMM_WORLD: ends every rank of the job.
void myelin_mpi_abort(int code);
/// MPI's error string for a code.
void myelin_mpi_error_string(int code, char *text, size_t length);
/// The raw figure: `iterations` in-place float sum allreduces of `count` floats straight from C
/// (after one warm-up and a barrier); returns the seconds per allreduce, or a negative value on failure.
double myelin_mpi_allreduce_loop(int64_t count, int iterations);

#ifdef __cplusplus
}
#endif
#endif
