// The text of elementwise_ops.h as a C string, for the loops that fused graphs compile at run time.
#include "myelin_kernels.h"

#define MYELIN_SOURCE(...) #__VA_ARGS__
static const char source[] =
#include "elementwise_ops.h"
    ;

const char *myelin_elementwise_source(void) { return source; }
