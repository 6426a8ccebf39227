/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging shared by every dse program: one line per message on stderr with a
 * timestamp, the level and the module, filtered by a process-wide level.
 */
#ifndef DSE_LOG_H
#define DSE_LOG_H

#include <stdbool.h>
#include <stdint.h>

/* Levels in decreasing severity, the numbers of syslog. */
enum dse_log_level {
	DSE_LOG_ERR = 3,
	DSE_LOG_WARN = 4,
	DSE_LOG_NOTICE = 5,
	DSE_LOG_INFO = 6,
	DSE_LOG_DEBUG = 7,
};

/* Sets the most verbose level that is printed. */
void dse_log_set_level(enum dse_log_level level);

/* Returns the most verbose level that is printed. */
enum dse_log_level dse_log_get_level(void);

/*
 * Parses 'name' ("err", "warn", "notice", "info", "debug") into 'ret_level'.
 * Returns 0, or -EINVAL for an unknown name.
 */
int dse_log_level_parse(const char *name, enum dse_log_level *ret_level);

/* Returns the name of 'level'. */
const char *dse_log_level_name(enum dse_log_level level);

/* Prints one message of 'level' from 'module' if the level allows it. */
void dse_log(enum dse_log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Token bucket for messages that can repeat (one per bad packet, say):
 * at most 'burst' messages, refilled at 'per_sec' a second.
 */
struct dse_ratelimit {
	uint32_t per_sec;   /* refill rate */
	uint32_t burst;     /* bucket size */
	double tokens;      /* tokens left */
	uint64_t last_ns;   /* time of the last refill */
	uint64_t suppressed; /* messages dropped since the last one printed */
};

/* Returns true if a message may be printed now; counts it as suppressed if not. */
bool dse_ratelimit_ok(struct dse_ratelimit *rl);

#define DSE_LOG_ERR(mod, ...)    dse_log(DSE_LOG_ERR, mod, __VA_ARGS__)
#define DSE_LOG_WARN(mod, ...)   dse_log(DSE_LOG_WARN, mod, __VA_ARGS__)
#define DSE_LOG_NOTICE(mod, ...) dse_log(DSE_LOG_NOTICE, mod, __VA_ARGS__)
#define DSE_LOG_INFO(mod, ...)   dse_log(DSE_LOG_INFO, mod, __VA_ARGS__)
#define DSE_LOG_DEBUG(mod, ...)  dse_log(DSE_LOG_DEBUG, mod, __VA_ARGS__)

#endif
