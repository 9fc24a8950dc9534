/* The fake entry mapping (fake_entry.h), left as mmap gives it: a page of zeros. */
#include "hostile.h"
#include "fake_entry.h"

static void fake_entry_fill(unsigned char *page, const unsigned char *prog_page) {
  (void)page;
  (void)prog_page;
}
