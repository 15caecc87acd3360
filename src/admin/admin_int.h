/*
 * admin_int.h -- helpers shared by the admin module's files (private: only
 * the files of src/admin include it).
 */
#ifndef SL_ADMIN_ADMIN_INT_H
#define SL_ADMIN_ADMIN_INT_H

#include "admin/admin.h"
#include "base/buf.h"

#include <inttypes.h>
#include <strings.h>

/* Double.toString spelling (configdef.c). */
void sl_cfg_format_double(double x, char *out, size_t cap);

/* The value of a broker config set in one of the three layers, strongest
 * first, or NULL if no layer sets it (broker_config.c). */
const char *sl_broker_config_layer_value(const sl_broker_config_t *cfg, const char *name,
                                         sl_cfg_source_t *src);

/*
 * The effective canonical value of topic config d (topic_config.c):
 * the override, else the first synonym some broker layer sets (scaled from
 * hours/minutes to ms), else the broker default of the synonym, else the
 * topic default. Returns NULL only for null. buf backs computed values.
 */
const char *sl_topic_config_effective(const sl_broker_config_t *b, const sl_props_t *ov,
                                      const sl_cfgdef_t *d, char *buf, size_t cap,
                                      sl_cfg_source_t *src);

/* Multiplier from a synonym's unit to ms: 3600000 for ".hours", 60000 for
 * ".minutes", else 1 (topic_config.c). */
int64_t sl_topic_config_synonym_scale(const char *synonym);

/*
 * The shared core of Alter/IncrementalAlterConfigs (topic_config.c): applies
 * ents to cur (NULL = empty) in scope, validating names and values; eff_fn
 * gives the effective value a list APPEND/SUBTRACT starts from (only called
 * in incremental mode). check_fn (may be NULL) vets each definition (broker
 * modes). Result in *out (validated, canonical).
 */
#define SL_CFG_ALTER_INCREMENTAL 0x1u /* IncrementalAlterConfigs, else replace */
#define SL_CFG_ALTER_SKIP_NULL   0x2u /* CreateTopics: ignore null values */
typedef const char *(*sl_cfg_effective_fn)(const void *ctx, const sl_cfgdef_t *d, char *buf,
                                           size_t cap);
typedef int (*sl_cfg_check_fn)(const void *ctx, const sl_cfgdef_t *d, sl_errbuf_t *err);
SL_MUST_CHECK int sl_cfg_alter_apply(sl_cfg_scope_t scope, const sl_props_t *cur,
                                     const sl_cfg_alter_t *ents, size_t n, unsigned flags,
                                     sl_cfg_effective_fn eff_fn, sl_cfg_check_fn check_fn,
                                     const void *ctx, sl_props_t *out, int32_t *bad,
                                     sl_errbuf_t *err);

/* Atomically replaces dir/name with data: write dir/name.tmp, fsync,
 * rename, fsync dir (meta.c). Fault points: "admin.write", "admin.fsync",
 * "admin.rename". */
SL_MUST_CHECK int sl_meta_write_atomic(const char *dir, const char *name, const void *data,
                                       size_t len, sl_errbuf_t *err);
/* Reads a whole file (meta.c): SL_ENOENT if missing. *out is heap,
 * NUL-terminated. */
SL_MUST_CHECK int sl_meta_read_file(const char *path, char **out, size_t *len, sl_errbuf_t *err);

/* Sets and persists a new cluster id (topics.c, for sl_topics_open). */
SL_MUST_CHECK int sl_topics_set_cluster_id(sl_topics_t *ts, const char *cluster_id,
                                           sl_errbuf_t *err);

#endif
