/* SPDX-License-Identifier: BSD-3-Clause */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum dse_log_level log_level = DSE_LOG_NOTICE;

static const char *const level_names[] = {
	[DSE_LOG_ERR] = "err",   [DSE_LOG_WARN] = "warn",   [DSE_LOG_NOTICE] = "notice",
	[DSE_LOG_INFO] = "info", [DSE_LOG_DEBUG] = "debug",
};

void dse_log_set_level(enum dse_log_level level)
{
	log_level = level;
}

enum dse_log_level dse_log_get_level(void)
{
	return log_level;
}

int dse_log_level_parse(const char *name, enum dse_log_level *ret_level)
{
	for (int l = DSE_LOG_ERR; l <= DSE_LOG_DEBUG; l++) {
		if (strcmp(name, level_names[l]) == 0) {
			*ret_level = (enum dse_log_level)l;
			return 0;
		}
	}
	return -EINVAL;
}

const char *dse_log_level_name(enum dse_log_level level)
{
	if (level < DSE_LOG_ERR || level > DSE_LOG_DEBUG)
		return "?";
	return level_names[level];
}

void dse_log(enum dse_log_level level, const char *module, const char *fmt, ...)
{
	char buf[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One fprintf per line so that lines of several threads do not mix. */
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-6s %s: %s\n", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		level_names[level], module, buf);
}

bool dse_ratelimit_ok(struct dse_ratelimit *rl)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (rl->last_ns == 0) {
		rl->tokens = rl->burst;
	} else {
		rl->tokens += (double)(now - rl->last_ns) * rl->per_sec / 1e9;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
	}
	rl->last_ns = now;
	if (rl->tokens >= 1.0) {
		rl->tokens -= 1.0;
		return true;
	}
	rl->suppressed++;
	return false;
}
