// actors/js/glue.js, linked in as it is ("cloudflare:workers" of JS actors).
// CAIRN_JS_GLUE_PATH comes from CMake; the object depends on the file.
#ifndef CAIRN_JS_GLUE_PATH
#error "CAIRN_JS_GLUE_PATH must name actors/js/glue.js"
#endif

__asm__(".section .rodata\n"
        ".global cairn_js_glue\n"
        ".type cairn_js_glue, @object\n"
        ".balign 16\n"
        "cairn_js_glue:\n"
        ".incbin \"" CAIRN_JS_GLUE_PATH "\"\n"
        "cairn_js_glue_end:\n"
        ".byte 0\n"
        ".global cairn_js_glue_size\n"
        ".type cairn_js_glue_size, @object\n"
        ".balign 8\n"
        "cairn_js_glue_size:\n"
        ".quad cairn_js_glue_end - cairn_js_glue\n"
        ".previous\n");
