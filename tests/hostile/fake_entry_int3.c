/* The fake entry mapping (fake_entry.h) full of int3: the trap the grader plants at the entry. */
#include "hostile.h"
#include "fake_entry.h"

static void fake_entry_fill(unsigned char *page, const unsigned char *prog_page) {
  (void)prog_page;
  memset(page, 0xcc, 4096);
}
