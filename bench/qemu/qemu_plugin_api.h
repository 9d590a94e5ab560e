/* The few declarations of QEMU's TCG plugin C ABI (API version 1, QEMU 6.0-8.1) that insn_count.c uses, written
 * from the "QEMU TCG Plugins" documentation because Debian's qemu-user ships no qemu-plugin.h. Not the whole API. */
#ifndef EDGELLM_QEMU_PLUGIN_API_H
#define EDGELLM_QEMU_PLUGIN_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
/* The version this plugin is built against; QEMU refuses to load a plugin outside its [min, cur] range. */
#define QEMU_PLUGIN_VERSION 1

typedef uint64_t qemu_plugin_id_t;

/* What QEMU passes to qemu_plugin_install (valid only during that call). */
typedef struct qemu_info_t {
  const char *target_name;
  struct {
    int min;
    int cur;
  } version;
  bool system_emulation;
  union {
    struct {
      int smp_vcpus;
      int max_vcpus;
    } system;
  };
} qemu_info_t;

struct qemu_plugin_tb; /* opaque: one translation block, only during the translation callback */

enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 }; /* the one inline op of API version 1 */

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_simple_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_index);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_init_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_simple_cb_t cb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
/* Adds imm to *ptr every time the block runs: code emitted into the translation, no call out (not atomic). */
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
                                              uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
/* Writes to QEMU's log: visible with `-d plugin` (and `-D FILE` to send it to a file). */
void qemu_plugin_outs(const char *string);

#endif
