/* A QEMU TCG plugin that counts the guest instructions a program executes (qemu-aarch64 -plugin insn_count.so), and
 * with tbs=FILE also how many times each translation block ran, so bench/insn_count.sh can charge them to symbols.
 * Not a timer and not a cache model: it counts instructions retired, nothing about what they waited for.
 *
 * Arguments (-plugin ./insn_count.so,out=FILE,tbs=FILE):
 *   out=FILE  also write the totals line there (else it goes only to QEMU's log: -d plugin)
 *   tbs=FILE  write "vaddr n_insns executions" (hex, dec, dec) for every block, for per-symbol attribution
 *
 * How it counts: at translation, each block gets an inline "add n_insns" into one counter; QEMU emits that add into
 * the translated code, so counting costs a few host instructions per block and no call out. The adds are not
 * atomic: with several guest threads running at once the total can lose updates, hence the vcpus figure printed. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_api.h"

/* QEMU looks up these two symbols when it loads the plugin (built with -fvisibility=hidden: nothing else shows). */
#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = EDGELLM_PLUGIN_API_VERSION;

static uint64_t total_insns;  /* the inline adds' target */
static unsigned vcpus;        /* guest threads seen (user mode makes a vCPU per thread) */
static const char *out_path;  /* out= */
static const char *tbs_path;  /* tbs= */

/* ---- per-block counters (tbs= only) --------------------------------------------------------------------------- */
/* A block is keyed by its start address and length: QEMU may translate the same address again (after a flush or
 * with another length), and both translations then share one counter. Entries are never moved or freed, because
 * the translated code holds a pointer to their count. */
struct tb_entry {
  uint64_t vaddr;
  uint64_t n_insns;
  uint64_t execs; /* the inline add's target */
};

static struct tb_entry **table; /* open addressing, capacity a power of two */
static size_t table_cap, table_len;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(uint64_t vaddr, uint64_t n, size_t cap) {
  uint64_t h = (vaddr ^ (n << 48)) * 0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 17) & (cap - 1);
}

static void table_grow(void) {
  size_t cap = table_cap ? table_cap * 2 : 4096;
  struct tb_entry **t = calloc(cap, sizeof *t);
  if (!t) {
    fprintf(stderr, "insn_count: out of memory for %zu block slots\n", cap);
    abort();
  }
  for (size_t i = 0; i < table_cap; ++i) {
    struct tb_entry *e = table[i];
    if (!e) continue;
    size_t s = slot_of(e->vaddr, e->n_insns, cap);
    while (t[s]) s = (s + 1) & (cap - 1);
    t[s] = e;
  }
  free(table);
  table = t;
  table_cap = cap;
}

/* The entry of (vaddr, n), made on first sight. Translation may run on several guest threads, hence the lock. */
static struct tb_entry *tb_entry_for(uint64_t vaddr, uint64_t n) {
  pthread_mutex_lock(&table_lock);
  if (2 * (table_len + 1) > table_cap) table_grow();
  size_t s = slot_of(vaddr, n, table_cap);
  while (table[s] && !(table[s]->vaddr == vaddr && table[s]->n_insns == n)) s = (s + 1) & (table_cap - 1);
  if (!table[s]) {
    struct tb_entry *e = calloc(1, sizeof *e);
    if (!e) {
      fprintf(stderr, "insn_count: out of memory for a block entry\n");
      abort();
    }
    e->vaddr = vaddr;
    e->n_insns = n;
    table[s] = e;
    ++table_len;
  }
  struct tb_entry *e = table[s];
  pthread_mutex_unlock(&table_lock);
  return e;
}

/* ---- callbacks -------------------------------------------------------------------------------------------------- */
static void vcpu_init(qemu_plugin_id_t id, unsigned int vcpu_index) {
  (void)id;
  (void)vcpu_index;
  __atomic_add_fetch(&vcpus, 1, __ATOMIC_RELAXED);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  const uint64_t n = qemu_plugin_tb_n_insns(tb);
  qemu_plugin_register_vcpu_tb_exec_inline(tb, EDGELLM_INLINE_ADD_U64, &total_insns, n);
  if (tbs_path) {
    struct tb_entry *e = tb_entry_for(qemu_plugin_tb_vaddr(tb), n);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, EDGELLM_INLINE_ADD_U64, &e->execs, 1);
  }
}

static void at_exit(qemu_plugin_id_t id, void *userdata) {
  (void)id;
  (void)userdata;
  char line[160];
  snprintf(line, sizeof line, "insn_count: insns %" PRIu64 " vcpus %u blocks %zu\n", total_insns, vcpus, table_len);
  qemu_plugin_outs(line);
  if (out_path) {
    FILE *f = fopen(out_path, "w");
    if (!f || fputs(line, f) == EOF || fclose(f) != 0) fprintf(stderr, "insn_count: cannot write out=%s\n", out_path);
  }
  if (tbs_path) {
    FILE *f = fopen(tbs_path, "w");
    if (!f) {
      fprintf(stderr, "insn_count: cannot write tbs=%s\n", tbs_path);
      return;
    }
    for (size_t i = 0; i < table_cap; ++i) {
      const struct tb_entry *e = table[i];
      if (e && e->execs) fprintf(f, "%" PRIx64 " %" PRIu64 " %" PRIu64 "\n", e->vaddr, e->n_insns, e->execs);
    }
    if (fclose(f) != 0) fprintf(stderr, "insn_count: cannot write tbs=%s\n", tbs_path);
  }
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct edgellm_qemu_info *info, int argc, char **argv) {
  if (info->version_min > EDGELLM_PLUGIN_API_VERSION || info->version_cur < EDGELLM_PLUGIN_API_VERSION) {
    fprintf(stderr, "insn_count: built for plugin API %d, this QEMU offers %d..%d\n", EDGELLM_PLUGIN_API_VERSION,
            info->version_min, info->version_cur);
    return -1;
  }
  for (int i = 0; i < argc; ++i) {
    /* argv outlives the plugin (QEMU keeps it), so pointers into it may be kept. */
    if (strncmp(argv[i], "out=", 4) == 0) {
      out_path = argv[i] + 4;
    } else if (strncmp(argv[i], "tbs=", 4) == 0) {
      tbs_path = argv[i] + 4;
    } else {
      fprintf(stderr, "insn_count: unknown argument '%s' (expected out=FILE or tbs=FILE)\n", argv[i]);
      return -1;
    }
  }
  qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
  qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
  qemu_plugin_register_atexit_cb(id, at_exit, NULL);
  return 0;
}
