/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A bounded byte queue, for what a connection has received and not yet
 * handled or has to send and not yet sent (the JSON-RPC server's answers,
 * the async client's requests and input).  Bytes [off, len) of 'data' are
 * queued; room at the end is made by moving them to the front before the
 * buffer grows, and it never grows beyond the limit its caller gives, so
 * no peer can make it grow without bound.
 */
#ifndef DSE_BUF_H
#define DSE_BUF_H

#include <jansson.h>
#include <stddef.h>

/* A zeroed struct is an empty queue. */
struct dse_buf {
	char *data;
	size_t off; /* the first queued byte */
	size_t len; /* the end of the queued bytes */
	size_t cap; /* bytes allocated */
};

/* Returns the bytes queued in 'b'. */
static inline size_t dse_buf_used(const struct dse_buf *b)
{
	return b->len - b->off;
}

/*
 * Makes room for 'more' bytes after the queued ones: moves them to the
 * front if that makes room, else grows the buffer (doubling, from 4 KiB)
 * to at most 'max' bytes.  Returns 0, -ENOBUFS when the queued bytes and
 * 'more' exceed 'max' (nothing changes), or -ENOMEM.
 */
int dse_buf_reserve(struct dse_buf *b, size_t more, size_t max);

/* Appends the 'len' bytes of 'p', within 'max' as dse_buf_reserve(). */
int dse_buf_append(struct dse_buf *b, const void *p, size_t len, size_t max);

/*
 * Appends 'v' as compact JSON, written straight into the buffer (no text
 * is built first), within 'max' as dse_buf_reserve() and at most
 * 'max_text' bytes of text.  Returns the bytes appended, or -E2BIG (the
 * text is longer than 'max_text'), -ENOBUFS, -ENOMEM; after a failure
 * part of the text may be queued: the caller cuts it off (b->len).
 */
long dse_buf_append_json(struct dse_buf *b, const json_t *v, size_t max_text, size_t max);

/* Frees the storage; 'b' is an empty queue after. */
void dse_buf_release(struct dse_buf *b);

#endif
