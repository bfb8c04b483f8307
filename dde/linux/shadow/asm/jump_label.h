/*
 * Shadow of arch/x86/include/asm/jump_label.h: replaces its static-branch
 * sequence because with CONFIG_HAVE_JUMP_LABEL_HACK every
 * static_branch_unlikely() is compiled as a jmp that objtool turns into a
 * NOP when the kernel is built. Donor objects do not go through objtool,
 * so those branches would start inverted (every dynamic-debug print on,
 * every off-by-default key on). Without the option the header emits the
 * NOP itself: each branch starts in its key's default state, which is the
 * state the DDE keeps (no key is flipped at run time).
 */
#undef CONFIG_HAVE_JUMP_LABEL_HACK
#include_next <asm/jump_label.h>
