/* The smallest useful program: no libc, no interpreter, only .text.
 * _start calls exit(0) with the raw syscall.
 * Build: gcc -nostdlib -static -no-pie -o tiny tiny.S (add -m32 for the i386 version)
 * (the .S suffix means it goes through the C preprocessor). */
        .file   "tiny.S"        /* fixed STT_FILE name: reproducible builds */
        .text
        .globl  _start
        .type   _start, @function
_start:
#ifdef __i386__
        movl    $1, %eax        /* __NR_exit (i386) */
        xorl    %ebx, %ebx      /* status 0 */
        int     $0x80
#elif defined(__ILP32__)
        movl    $0x4000003c, %eax  /* __X32_SYSCALL_BIT | __NR_exit */
        xorl    %edi, %edi
        syscall
#else
        movl    $60, %eax       /* __NR_exit */
        xorl    %edi, %edi      /* status 0 */
        syscall
#endif
        hlt                     /* not reached */
        .size   _start, . - _start

/* Non-executable stack: this note makes the linker emit PT_GNU_STACK with RW
 * flags. Built with -DTINY_NO_GNU_STACK (the "tiny-nognustack" program) the
 * note is left out and the binary has no PT_GNU_STACK at all. */
#ifndef TINY_NO_GNU_STACK
        .section .note.GNU-stack, "", @progbits
#endif
