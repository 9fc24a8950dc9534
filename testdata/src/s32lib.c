/* A shared library for the ia32 start-stage corpus (start32/). Built several ways: with
 * global-dynamic or initial-exec TLS, without -fPIC (text relocations), with an executable
 * stack, and as a chain of libraries that need each other. */
#ifdef LIB_TLS
#ifdef LIB_TLS_IE
__thread int lib_tls[LIB_TLS] __attribute__((tls_model("initial-exec"))) = {1};
#else
__thread int lib_tls[LIB_TLS] = {1};
#endif
int lib_tls_get(int i) { return lib_tls[i % LIB_TLS]; }
#endif

int lib_counter;
/* Without -fPIC this absolute reference is a text relocation (R_386_32 in .text). */
int *lib_counter_ptr(void) { return &lib_counter; }
