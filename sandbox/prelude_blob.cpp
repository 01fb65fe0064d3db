// The bundled prelude (sandbox/js via esbuild), linked in as it is.
// CAIRN_PRELUDE_PATH comes from CMake; the object depends on the file.
#ifndef CAIRN_PRELUDE_PATH
#error "CAIRN_PRELUDE_PATH must name the bundled prelude"
#endif

__asm__(".section .rodata\n"
        ".global cairn_sandbox_prelude\n"
        ".type cairn_sandbox_prelude, @object\n"
        ".balign 16\n"
        "cairn_sandbox_prelude:\n"
        ".incbin \"" CAIRN_PRELUDE_PATH "\"\n"
        "cairn_sandbox_prelude_end:\n"
        ".byte 0\n"
        ".global cairn_sandbox_prelude_size\n"
        ".type cairn_sandbox_prelude_size, @object\n"
        ".balign 8\n"
        "cairn_sandbox_prelude_size:\n"
        ".quad cairn_sandbox_prelude_end - cairn_sandbox_prelude\n"
        ".previous\n");
