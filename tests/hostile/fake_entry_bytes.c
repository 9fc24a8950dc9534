/* The fake entry mapping (fake_entry.h) holding PROG's own bytes of that page, copied before
 * the segments went: it looks like PROG at the entry, and nothing else of PROG is there. */
#include "hostile.h"
#include "fake_entry.h"

static void fake_entry_fill(unsigned char *page, const unsigned char *prog_page) {
  memcpy(page, prog_page, 4096);
}
