/*
 * opsrun: the live side of `execmap layout/step --ops FILE`.
 *
 * Usage: opsrun SCRIPT
 *
 * Reads SCRIPT (at most 64 KiB), performs its memory operations in order with raw system
 * calls, then writes to stdout one line per operation and the final /proc/self/maps:
 *
 *   op K: <result>              K counts every operation from 1
 *   op K: <result> brk=0x...    for brk: also the value the kernel's brk() returned
 *   --- maps
 *   <the contents of /proc/self/maps>
 *
 * <result> is `0x...` (lower-case hex, no leading zeros) on success -- the mapped address
 * for mmap, 0x0 for munmap/mprotect, the new break for brk -- or `-ERRNO` (decimal) on failure.
 * brk never fails in the kernel (it returns the current break); opsrun reports -12 (ENOMEM)
 * when the returned break differs from the requested one, as sbrk() would.
 *
 * Script lines (`#` starts a comment, anywhere on a line):
 *   brk +N | brk -N | brk ADDR        relative to the current break (read with brk(0)), or absolute
 *   mmap LEN PROT [anon | FILE OFF] [private|shared] [at ADDR] [fixed|noreplace]
 *   munmap ADDR LEN
 *   mprotect ADDR LEN PROT
 * Numbers are decimal or 0x hex. PROT is three letters, e.g. r--, rw-, r-x, ---, rwx.
 * ADDR is a number, or $K, $K+OFF, $K-OFF: the value returned by the K-th mmap (from 1).
 * FILE is absolute or relative to the script's directory; it is opened O_RDONLY for a
 * private mapping and O_RDWR for a shared one, and closed after mmap (a failed open is the
 * operation's result). A failed operation does not stop the script; a syntax error does
 * (exit 2, before any operation is performed).
 *
 * The program is static and uses no libc: nothing may allocate or map memory besides the
 * script's operations. All buffers are static (.bss), so the program's own layout is its
 * exec layout; stack use stays far inside the initial stack VMA.
 *
 * Build: gcc -static -nostdlib -fno-stack-protector -fno-builtin -O1 -ffreestanding
 */

typedef unsigned long u64;

enum { SYS_read = 0, SYS_write = 1, SYS_open = 2, SYS_close = 3, SYS_mmap = 9,
       SYS_mprotect = 10, SYS_munmap = 11, SYS_brk = 12, SYS_exit = 60 };
enum { O_RDONLY = 0, O_RDWR = 2 };
enum { PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4 };
enum { MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
       MAP_FIXED_NOREPLACE = 0x100000 };

__asm__(".text\n"
        ".globl _start\n"
        ".type _start,@function\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call opsrun_main\n"
        "  hlt\n");

static long sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
static long sys3(long n, long a, long b, long c) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c)
                   : "rcx", "r11", "memory");
  return ret;
}
static __attribute__((noreturn)) void sys_exit(int code) {
  for (;;) sys3(SYS_exit, code, 0, 0);
}

#define SCRIPT_MAX 65536
#define OUT_MAX 65536
#define MAPS_MAX 131072
#define OPS_MAX 2048
#define PATH_MAX_ 4096

enum { OP_BRK_ABS = 1, OP_BRK_INC, OP_BRK_DEC, OP_MMAP, OP_MUNMAP, OP_MPROTECT };

struct addr { int ref; long sign; u64 val; }; /* ref 0: val is absolute; else $ref + sign*val */
struct op {
  int kind, line;
  struct addr addr;       /* brk ADDR; mmap hint; munmap/mprotect start */
  u64 len;                /* mmap/munmap/mprotect length; brk +/- amount */
  int prot, flags;        /* mmap/mprotect */
  int has_file;
  u64 off;
  int file;               /* offset of the FILE token in script[] (NUL-terminated there) */
};

static char script[SCRIPT_MAX + 1];
static char out[OUT_MAX];
static char maps[MAPS_MAX];
static char path[PATH_MAX_];
static struct op ops[OPS_MAX];
static long mmap_ret[OPS_MAX];
static int nops, nmmaps, outlen;
static const char *script_path;

static int slen(const char *s) { int n = 0; while (s[n]) n++; return n; }
static int seq(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

static void write_all(int fd, const char *p, long n) {
  while (n > 0) {
    long w = sys3(SYS_write, fd, (long)p, n);
    if (w <= 0) return;
    p += w; n -= w;
  }
}
static void emit(const char *s) {
  while (*s && outlen < OUT_MAX) out[outlen++] = *s++;
}
static void emit_hex(u64 v) {
  char b[19]; int i = 18;
  b[i] = 0;
  do { b[--i] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
  b[--i] = 'x'; b[--i] = '0';
  emit(b + i);
}
static void emit_dec(long v) {
  char b[24]; int i = 23; u64 u = v < 0 ? -(u64)v : (u64)v;
  b[i] = 0;
  do { b[--i] = '0' + u % 10; u /= 10; } while (u);
  if (v < 0) b[--i] = '-';
  emit(b + i);
}
static void emit_result(long r) {
  if (r < 0 && r >= -4095) emit_dec(r); else emit_hex((u64)r);
}

static __attribute__((noreturn)) void die(int line, const char *msg, const char *tok) {
  outlen = 0;
  emit("opsrun: ");
  if (line) { emit(script_path); emit(":"); emit_dec(line); emit(": "); }
  emit(msg);
  if (tok) { emit(": '"); emit(tok); emit("'"); }
  emit("\n");
  write_all(2, out, outlen);
  sys_exit(2);
}

/* ---- parsing ------------------------------------------------------------------------ */

static char *tok[16];
static int ntok;

static int parse_num(const char *s, u64 *v) {
  u64 r = 0;
  if (!*s) return 0;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s += 2;
    if (!*s) return 0;
    for (; *s; s++) {
      int d;
      if (*s >= '0' && *s <= '9') d = *s - '0';
      else if (*s >= 'a' && *s <= 'f') d = *s - 'a' + 10;
      else if (*s >= 'A' && *s <= 'F') d = *s - 'A' + 10;
      else return 0;
      if (r >> 60) return 0;
      r = r * 16 + d;
    }
  } else {
    for (; *s; s++) {
      if (*s < '0' || *s > '9') return 0;
      if (r > (~0UL - 9) / 10) return 0;
      r = r * 10 + (*s - '0');
    }
  }
  *v = r;
  return 1;
}

static int parse_addr(char *s, struct addr *a, int line) {
  a->ref = 0; a->sign = 1; a->val = 0;
  if (*s != '$') return parse_num(s, &a->val);
  s++;
  int k = 0;
  if (*s < '0' || *s > '9') return 0;
  while (*s >= '0' && *s <= '9') { k = k * 10 + (*s - '0'); if (k > OPS_MAX) return 0; s++; }
  if (k < 1) return 0;
  if (k > nmmaps) die(line, "$K refers to an mmap that comes later", 0);
  a->ref = k;
  if (!*s) return 1;
  if (*s == '+') a->sign = 1;
  else if (*s == '-') a->sign = -1;
  else return 0;
  return parse_num(s + 1, &a->val);
}

static int parse_prot(const char *s, int *p) {
  if (slen(s) != 3) return 0;
  *p = 0;
  if (s[0] == 'r') *p |= PROT_READ; else if (s[0] != '-') return 0;
  if (s[1] == 'w') *p |= PROT_WRITE; else if (s[1] != '-') return 0;
  if (s[2] == 'x') *p |= PROT_EXEC; else if (s[2] != '-') return 0;
  return 1;
}

static void parse_line(int line) {
  struct op *o;
  if (ntok == 0) return;
  if (nops >= OPS_MAX) die(line, "too many operations", 0);
  o = &ops[nops];
  o->line = line;
  if (seq(tok[0], "brk")) {
    if (ntok != 2) die(line, "usage: brk +N | brk -N | brk ADDR", 0);
    if (tok[1][0] == '+' || tok[1][0] == '-') {
      o->kind = tok[1][0] == '+' ? OP_BRK_INC : OP_BRK_DEC;
      if (!parse_num(tok[1] + 1, &o->len)) die(line, "bad number", tok[1]);
    } else {
      o->kind = OP_BRK_ABS;
      if (!parse_addr(tok[1], &o->addr, line)) die(line, "bad address", tok[1]);
    }
  } else if (seq(tok[0], "mmap")) {
    int i = 3, share = 0, fix = 0, at = 0;
    if (ntok < 3) die(line, "usage: mmap LEN PROT [anon | FILE OFF] [private|shared] [at ADDR] [fixed|noreplace]", 0);
    o->kind = OP_MMAP;
    if (!parse_num(tok[1], &o->len)) die(line, "bad length", tok[1]);
    if (!parse_prot(tok[2], &o->prot)) die(line, "bad protection", tok[2]);
    o->flags = 0;
    o->has_file = 0;
    for (; i < ntok; i++) {
      char *t = tok[i];
      if (seq(t, "anon")) {
        if (o->has_file) die(line, "anon with a file", 0);
      } else if (seq(t, "private") || seq(t, "shared")) {
        if (share) die(line, "private/shared given twice", 0);
        share = seq(t, "shared") ? MAP_SHARED : MAP_PRIVATE;
      } else if (seq(t, "at")) {
        if (at || i + 1 >= ntok) die(line, "at needs one ADDR", 0);
        if (!parse_addr(tok[++i], &o->addr, line)) die(line, "bad address", tok[i]);
        at = 1;
      } else if (seq(t, "fixed") || seq(t, "noreplace")) {
        if (fix) die(line, "fixed/noreplace given twice", 0);
        fix = seq(t, "fixed") ? MAP_FIXED : MAP_FIXED_NOREPLACE;
      } else {
        if (o->has_file || i + 1 >= ntok) die(line, "FILE needs an OFF", t);
        o->has_file = 1;
        o->file = (int)(t - script);
        if (!parse_num(tok[++i], &o->off)) die(line, "bad file offset", tok[i]);
      }
    }
    if (fix && !at) die(line, "fixed/noreplace need at ADDR", 0);
    o->flags = (share ? share : MAP_PRIVATE) | fix | (o->has_file ? 0 : MAP_ANONYMOUS);
    nmmaps++;
  } else if (seq(tok[0], "munmap") || seq(tok[0], "mprotect")) {
    int mp = seq(tok[0], "mprotect");
    if (ntok != (mp ? 4 : 3)) die(line, mp ? "usage: mprotect ADDR LEN PROT" : "usage: munmap ADDR LEN", 0);
    o->kind = mp ? OP_MPROTECT : OP_MUNMAP;
    if (!parse_addr(tok[1], &o->addr, line)) die(line, "bad address", tok[1]);
    if (!parse_num(tok[2], &o->len)) die(line, "bad length", tok[2]);
    if (mp && !parse_prot(tok[3], &o->prot)) die(line, "bad protection", tok[3]);
  } else {
    die(line, "unknown operation", tok[0]);
  }
  nops++;
}

static void parse_script(long n) {
  long i = 0;
  int line = 0;
  while (i < n) {
    long end = i;
    line++;
    while (end < n && script[end] != '\n') end++;
    script[end] = 0;
    for (long j = i; j < end; j++)
      if (script[j] == '#') { script[j] = 0; break; }
    ntok = 0;
    for (long j = i; j < end && script[j];) {
      char c = script[j];
      if (c == ' ' || c == '\t' || c == '\r') { script[j++] = 0; continue; }
      if (ntok >= 16) die(line, "too many words", 0);
      tok[ntok++] = &script[j];
      while (j < end && script[j] && script[j] != ' ' && script[j] != '\t' && script[j] != '\r') j++;
    }
    parse_line(line);
    i = end + 1;
  }
}

/* ---- performing ------------------------------------------------------------------------ */

static u64 resolve(const struct addr *a) {
  if (!a->ref) return a->val;
  return (u64)mmap_ret[a->ref - 1] + (u64)a->sign * a->val;
}

static const char *file_path(const char *f) {
  int n = 0, dir = -1, i;
  if (f[0] == '/') return f;
  for (i = 0; script_path[i]; i++)
    if (script_path[i] == '/') dir = i;
  for (i = 0; i <= dir && n < PATH_MAX_ - 1; i++) path[n++] = script_path[i];
  for (i = 0; f[i] && n < PATH_MAX_ - 1; i++) path[n++] = f[i];
  path[n] = 0;
  return path;
}

static void run(void) {
  int k, m = 0;
  for (k = 0; k < nops; k++) {
    struct op *o = &ops[k];
    long r, kb = 0;
    switch (o->kind) {
    case OP_BRK_ABS:
    case OP_BRK_INC:
    case OP_BRK_DEC: {
      u64 want;
      if (o->kind == OP_BRK_ABS) {
        want = resolve(&o->addr);
      } else {
        u64 cur = (u64)sys3(SYS_brk, 0, 0, 0);
        want = o->kind == OP_BRK_INC ? cur + o->len : cur - o->len;
      }
      kb = sys3(SYS_brk, (long)want, 0, 0);
      r = (u64)kb == want ? kb : -12;
      break;
    }
    case OP_MMAP: {
      long fd = -1;
      if (o->has_file) {
        fd = sys3(SYS_open, (long)file_path(script + o->file),
                  (o->flags & MAP_SHARED) ? O_RDWR : O_RDONLY, 0);
        if (fd < 0) { r = fd; mmap_ret[m++] = r; break; }
      }
      r = sys6(SYS_mmap, (long)resolve(&o->addr), (long)o->len, o->prot, o->flags, fd,
               (long)o->off);
      if (fd >= 0) sys3(SYS_close, fd, 0, 0);
      mmap_ret[m++] = r;
      break;
    }
    case OP_MUNMAP:
      r = sys3(SYS_munmap, (long)resolve(&o->addr), (long)o->len, 0);
      break;
    default:
      r = sys3(SYS_mprotect, (long)resolve(&o->addr), (long)o->len, o->prot);
      break;
    }
    emit("op "); emit_dec(k + 1); emit(": "); emit_result(r);
    if (o->kind <= OP_BRK_DEC) { emit(" brk="); emit_hex((u64)kb); }
    emit("\n");
  }
}

void __attribute__((used)) opsrun_main(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  long fd, n = 0, got;
  if (argc != 2) die(0, "usage: opsrun SCRIPT", 0);
  script_path = argv[1];
  fd = sys3(SYS_open, (long)script_path, O_RDONLY, 0);
  if (fd < 0) die(0, "cannot open the script", script_path);
  while (n < SCRIPT_MAX && (got = sys3(SYS_read, fd, (long)(script + n), SCRIPT_MAX - n)) > 0)
    n += got;
  if (n >= SCRIPT_MAX) die(0, "script larger than 64 KiB", script_path);
  sys3(SYS_close, fd, 0, 0);
  parse_script(n);
  run();
  emit("--- maps\n");
  write_all(1, out, outlen);

  n = 0;
  fd = sys3(SYS_open, (long)"/proc/self/maps", O_RDONLY, 0);
  if (fd < 0) die(0, "cannot open /proc/self/maps", 0);
  while (n < MAPS_MAX && (got = sys3(SYS_read, fd, (long)(maps + n), MAPS_MAX - n)) > 0)
    n += got;
  sys3(SYS_close, fd, 0, 0);
  write_all(1, maps, n);
  sys_exit(n >= MAPS_MAX ? 3 : 0);
}
