/* Why this file exists: Debian 12's qemu-user (QEMU 7.2) can load TCG plugins (-plugin) but ships neither QEMU's
 * plugin header nor its example plugins, so insn_count.c declares here, in our own words, only the entry points it
 * calls. They target QEMU's TCG plugin API version 1 (the plugin ABI of QEMU 6.0 through 8.1; 7.2 offers exactly 1),
 * checked at load time by qemu_plugin_install in insn_count.c. The function names and the argument order must be
 * QEMU's, since QEMU resolves them when it loads the plugin; everything else is ours. Not a general plugin header. */
#ifndef EDGELLM_QEMU_PLUGIN_API_H
#define EDGELLM_QEMU_PLUGIN_API_H

#include <stddef.h>
#include <stdint.h>

#define EDGELLM_PLUGIN_API_VERSION 1

typedef uint64_t qemu_plugin_id_t; /* QEMU's handle for this plugin */

/* What QEMU hands qemu_plugin_install. Only the leading members that we read: QEMU's own struct goes on (system
 * emulation details) but owns the memory, so declaring a prefix of it is enough. */
struct edgellm_qemu_info {
  const char *target_name;
  int version_min, version_cur; /* the plugin API versions this QEMU accepts */
};

struct qemu_plugin_tb; /* opaque: one translation block, valid during the translation callback */

/* The inline operation "add an immediate to a 64-bit counter", value 0 of QEMU's enum (the only one in version 1). */
#define EDGELLM_INLINE_ADD_U64 0

void qemu_plugin_register_vcpu_init_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t id, unsigned int vcpu));
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           void (*cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb));
/* Adds imm to *ptr each time the block runs: emitted into the translated code, no call out, not atomic. */
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, int op, void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t id, void *data), void *data);
void qemu_plugin_outs(const char *text); /* QEMU's log: shown with -d plugin */

#endif
