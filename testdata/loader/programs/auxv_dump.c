/* auxv_dump: prints what a C program sees at startup, in a form that does not depend on where
 * it was loaded: argc, argv, envp, and the auxv entries that glibc or a program consults,
 * each as a value or as a verdict on its value. Run directly by the kernel and under a
 * user-space loader, the two outputs are equal exactly when the loader gave the program what
 * the kernel gives (tests/student_loaders.sh compares them).
 * Built -static-pie: a loader may put it at any base. */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern char **environ;
extern const char __ehdr_start[];
extern void _start(void);

int main(int argc, char **argv) {
  printf("argc %d\n", argc);
  for (int i = 0; i < argc; ++i) printf("argv[%d] %s\n", i, argv[i]);
  if (argv[argc] != NULL) printf("argv[argc] is not NULL\n");
  char **e = environ;
  for (int i = 0; e[i]; ++i) printf("env %s\n", e[i]);
  /* The auxv as glibc's start code finds it: after envp's NULL. */
  while (*e) ++e;
  const Elf64_auxv_t *auxv = (const Elf64_auxv_t *)(e + 1);
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)__ehdr_start;
  /* In a fixed order, so that a loader may order its auxv as it likes. */
  static const unsigned long types[] = {AT_PHDR,  AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE,
                                        AT_FLAGS, AT_ENTRY, AT_NOTELF, AT_UID,   AT_EUID,
                                        AT_GID,   AT_EGID,  AT_SECURE, AT_EXECFD, AT_RANDOM,
                                        AT_EXECFN};
  for (size_t t = 0; t < sizeof types / sizeof types[0]; ++t) {
    const Elf64_auxv_t *av = auxv;
    int n = 0;
    while (av->a_type != AT_NULL && av->a_type != types[t] && n < 256) ++av, ++n;
    if (av->a_type != types[t]) continue;
    const uint64_t v = av->a_un.a_val;
    switch (av->a_type) {
      case AT_PHDR:
        printf("AT_PHDR %s\n", v == (uintptr_t)__ehdr_start + eh->e_phoff ? "= my phdrs" : "wrong");
        break;
      case AT_ENTRY:
        printf("AT_ENTRY %s\n", v == (uintptr_t)&_start ? "= my _start" : "wrong");
        break;
      case AT_RANDOM: {
        static const unsigned char zero[16];
        printf("AT_RANDOM %s\n", v && memcmp((const void *)v, zero, 16) ? "set" : "zero");
        break;
      }
      case AT_EXECFN: printf("AT_EXECFN %s\n", (const char *)v); break;
      default: printf("auxv type %lu = %#lx\n", (unsigned long)av->a_type, (unsigned long)v); break;
    }
  }
  printf("auxv entries consulted: done\n");
  return 0;
}
