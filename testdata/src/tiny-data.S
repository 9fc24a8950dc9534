/* A libc-free program with .text, .rodata, .data and .bss, so the linker
 * makes a read-only, a code and a data PT_LOAD (the data one with
 * p_memsz > p_filesz). _start checks the sections hold what they should and
 * exits 0 if so, 1 if not. Also linked with holes.ld (the "holes" program).
 * Build: gcc -nostdlib -static -no-pie -o tiny-data tiny-data.S */
        .file   "tiny-data.S"   /* fixed STT_FILE name: reproducible builds */
        .text
        .globl  _start
        .type   _start, @function
_start:
        movl    $1, %edi                        /* assume failure */
        movq    magic_ro(%rip), %rax
        cmpq    magic_rw(%rip), %rax            /* .rodata == .data ? */
        jne     1f
        leaq    zeros(%rip), %rcx               /* .bss must start zeroed */
        movq    (%rcx), %rdx
        orq     8184(%rcx), %rdx                /* last quadword too */
        jnz     1f
        movq    %rax, (%rcx)                    /* .bss must be writable */
        movq    %rax, 8184(%rcx)
        incq    magic_rw(%rip)                  /* .data must be writable */
        xorl    %edi, %edi                      /* success */
1:      movl    $60, %eax                       /* __NR_exit */
        syscall
        hlt
        .size   _start, . - _start

        .section .rodata
        .balign 8
magic_ro:
        .quad   0x0123456789abcdef

        .data
        .balign 8
magic_rw:
        .quad   0x0123456789abcdef
        .fill   100, 1, 0x5a                    /* .data ends mid-page */

        .bss
        .balign 8
zeros:
        .zero   8192                            /* two pages of .bss */

        .section .note.GNU-stack, "", @progbits
