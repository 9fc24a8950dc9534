/* execmap_snapshot.h: header-only helper for a user-space ELF loader graded by
 * `execmap grade --snapshot FILE PROG [ARG...]`. Call it just before the jump to the entry:
 *
 *   execmap_snapshot_write("snap.json", sp, entry, base, phdrs, phnum);
 *
 * It writes {"maps", "rip", "sp", "image", "memory"} (see `execmap grade --help`): this
 * process's /proc/self/maps, sp and rip (= the address you are about to jump to), the bytes
 * [sp, end of the mapping holding sp), and, when phdrs is not NULL, the memory
 * [base + p_vaddr, base + p_vaddr + p_memsz) of every PT_LOAD. Returns 0, or -1 on failure.
 * Plain C99, no allocation beyond stdio. */
#ifndef EXECMAP_SNAPSHOT_H
#define EXECMAP_SNAPSHOT_H

#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static void execmap_snapshot_hex_(FILE *f, const unsigned char *p, uint64_t n) {
  static const char digits[] = "0123456789abcdef";
  for (uint64_t i = 0; i < n; ++i) {
    fputc(digits[p[i] >> 4], f);
    fputc(digits[p[i] & 15], f);
  }
}

static int execmap_snapshot_write(const char *path, uint64_t sp, uint64_t rip, uint64_t base,
                                  const void *phdrs, int phnum) {
  /* Read the maps first: opening the output may allocate and so change them. */
  static char maps[1 << 20];
  size_t len = 0;
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  for (;;) {
    ssize_t n = read(fd, maps + len, sizeof maps - 1 - len);
    if (n < 0) { close(fd); return -1; }
    if (n == 0) break;
    len += (size_t)n;
    if (len == sizeof maps - 1) break;
  }
  close(fd);
  maps[len] = 0;
  /* The end of the mapping that holds sp. */
  uint64_t stack_end = 0;
  for (char *line = maps; *line;) {
    unsigned long long lo, hi;
    if (sscanf(line, "%llx-%llx", &lo, &hi) == 2 && lo <= sp && sp < hi) stack_end = hi;
    while (*line && *line != '\n') ++line;
    if (*line) ++line;
  }
  if (!stack_end) return -1;

  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs("{\"maps\": \"", f);
  for (size_t i = 0; i < len; ++i) {
    unsigned char c = (unsigned char)maps[i];
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c == '\n') fputs("\\n", f);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fprintf(f, "\",\n \"rip\": \"0x%llx\", \"sp\": \"0x%llx\",\n \"image\": \"",
          (unsigned long long)rip, (unsigned long long)sp);
  execmap_snapshot_hex_(f, (const unsigned char *)(uintptr_t)sp, stack_end - sp);
  fputs("\"", f);
  if (phdrs) {
#if UINTPTR_MAX == 0xffffffffu
    const Elf32_Phdr *ph = (const Elf32_Phdr *)phdrs; /* an i386 loader's ELF32 headers */
#else
    const Elf64_Phdr *ph = (const Elf64_Phdr *)phdrs;
#endif
    int first = 1;
    fputs(",\n \"memory\": [", f);
    for (int i = 0; i < phnum; ++i) {
      if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0) continue;
      uint64_t at = base + ph[i].p_vaddr;
      fprintf(f, "%s{\"start\": \"0x%llx\", \"hex\": \"", first ? "" : ", ",
              (unsigned long long)at);
      execmap_snapshot_hex_(f, (const unsigned char *)(uintptr_t)at, ph[i].p_memsz);
      fputs("\"}", f);
      first = 0;
    }
    fputs("]", f);
  }
  fputs("}\n", f);
  return fclose(f) == 0 ? 0 : -1;
}

#endif /* EXECMAP_SNAPSHOT_H */
