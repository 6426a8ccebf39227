/* SPDX-License-Identifier: BSD-3-Clause */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int dse_buf_reserve(struct dse_buf *b, size_t more, size_t max)
{
	size_t need = dse_buf_used(b) + more, cap;
	char *p;

	if (need > max || need < more)
		return -ENOBUFS;
	if (b->len + more <= b->cap)
		return 0;
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, dse_buf_used(b));
		b->len -= b->off;
		b->off = 0;
		if (b->len + more <= b->cap)
			return 0;
	}
	cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	if (cap > max)
		cap = max;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int dse_buf_append(struct dse_buf *b, const void *p, size_t len, size_t max)
{
	int r = dse_buf_reserve(b, len, max);

	if (r < 0)
		return r;
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return 0;
}

/* Where json_dump_callback() writes: a buffer, within its limits. */
struct dump_ctx {
	struct dse_buf *b;
	size_t max;
	size_t max_text;
	size_t bytes; /* written so far */
	int err;      /* the first error */
};

static int dump_to_buf(const char *text, size_t size, void *data)
{
	struct dump_ctx *d = data;
	int r = d->bytes + size > d->max_text ? -E2BIG : dse_buf_append(d->b, text, size, d->max);

	if (r < 0) {
		d->err = r;
		return -1;
	}
	d->bytes += size;
	return 0;
}

long dse_buf_append_json(struct dse_buf *b, const json_t *v, size_t max_text, size_t max)
{
	struct dump_ctx d = {.b = b, .max = max, .max_text = max_text};

	if (json_dump_callback(v, dump_to_buf, &d, JSON_COMPACT) < 0)
		return d.err < 0 ? d.err : -ENOMEM;
	return (long)d.bytes;
}

void dse_buf_release(struct dse_buf *b)
{
	free(b->data);
	*b = (struct dse_buf){0};
}
