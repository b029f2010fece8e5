// SPDX-License-Identifier: (LGPL-2.1 OR MIT)
/*
 * A byte stream stored at consecutive blocks (unio_stream_*): chunks of the
 * data area appended in stream order become extents (runs of the data area
 * back to back in the stream), whole blocks of which go to the drive by
 * gathers (unio_nvme_gather()); a chunk is given back once the stream is
 * on the drive up to its end.
 *
 * Every extent but the last has a length that is a multiple of the DMA
 * alignment, and starts on it: a gather may cut an extent only at a block
 * boundary of the stream, which then falls on the alignment too. A chunk
 * that would break that (its offset or length is off the alignment, or the
 * last extent is a copy still off it) is copied to the end of the bounce
 * ring's open extent instead, and counted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define UNIO_STREAM_DEF_WRITE	(256U << 10)

struct unio_stream_ext {
	uint64_t src;		/* data-area offset */
	uint64_t end;		/* stream offset just past it */
	uint64_t bounce_end;	/* bounce ring position past it; 0: in place */
	uint32_t len;
};

struct unio_stream_chunk {
	uint64_t end;
	uint64_t user_data;
};

struct unio_stream_write {
	uint64_t end;		/* stream offset the write reaches */
	int32_t err;
	uint16_t status;
	bool done;
};

/* A FIFO of @esz-byte entries: a power-of-two ring that grows. */
struct unio_fifo {
	void *v;
	uint32_t esz, cap, head, n;
};

struct unio_stream {
	struct unio_region *r;
	struct unio_nvme *ns;
	uint64_t slba, cap_bytes;
	uint32_t lba, align, write_bytes;
	uint64_t zero_off;		/* one block of zeros */
	uint64_t ring_off;		/* the bounce ring */
	uint64_t ring_len;
	uint64_t b_head, b_tail;	/* ring positions, monotonic */
	struct unio_fifo ext, chunks, writes;
	uint32_t ext_issue;		/* extents before it are all issued */
	uint64_t bytes;			/* in extents: appended, and zeros */
	uint64_t issued;		/* of those, in gathers */
	uint64_t write_seq;		/* user_data of the next gather */
	uint64_t write_head_seq;	/* that of writes' head */
	uint32_t inflight;
	bool ended;
	struct unio_stream_info info;
	struct unio_seg *segs;
	uint32_t segs_cap;
};

static void *unio_fifo_at(const struct unio_fifo *f, uint32_t i)
{
	return (char *)f->v + (size_t)((f->head + i) & (f->cap - 1)) * f->esz;
}

static void *unio_fifo_add(struct unio_fifo *f)
{
	if (f->n == f->cap) {
		uint32_t cap = f->cap ? 2 * f->cap : 64;
		char *v = malloc((size_t)cap * f->esz);

		if (!v)
			return NULL;
		for (uint32_t i = 0; i < f->n; i++)
			memcpy(v + (size_t)i * f->esz, unio_fifo_at(f, i), f->esz);
		free(f->v);
		f->v = v;
		f->cap = cap;
		f->head = 0;
	}
	f->n++;
	return unio_fifo_at(f, f->n - 1);
}

static void unio_fifo_drop(struct unio_fifo *f)
{
	f->head = (f->head + 1) & (f->cap - 1);
	f->n--;
}

UNIO_API int unio_stream_open(struct unio_region *r, uint64_t slba,
			      uint64_t nr_lbas, const struct unio_stream_opts *opts,
			      struct unio_stream **out)
{
	struct unio_stream *s;
	struct unio_nvme *ns;
	uint64_t boff, blen;
	uint32_t wb;
	int ret;

	if (!r || !r->map || !out || !nr_lbas)
		return -EINVAL;
	ret = unio_opts_check(opts, sizeof(*opts));
	if (ret)
		return ret;
	if (UNIO_OPTS_GET(opts, flags, 0))
		return -EINVAL;
	ns = unio_nvme_lookup(r->nvme, UNIO_OPTS_GET(opts, nsid, 0));
	if (!ns)
		return -EINVAL;
	if (slba >= ns->nr_lbas || nr_lbas > ns->nr_lbas - slba)
		return -EINVAL;
	boff = UNIO_OPTS_GET(opts, bounce_off, 0);
	blen = UNIO_OPTS_GET(opts, bounce_len, 0);
	if (boff % ns->dma_align || blen < 2ULL * ns->lba_size ||
	    boff > r->q.data_size || blen > r->q.data_size - boff)
		return -EINVAL;
	wb = UNIO_OPTS_GET(opts, write_bytes, 0) ?: UNIO_STREAM_DEF_WRITE;
	wb = wb / ns->lba_size * ns->lba_size;
	if (!wb)
		wb = ns->lba_size;
	if (wb > (1U << 30))
		wb = 1U << 30;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->r = r;
	s->ns = ns;
	s->slba = slba;
	s->cap_bytes = nr_lbas << ns->lba_shift;
	s->lba = ns->lba_size;
	s->align = ns->dma_align;
	s->write_bytes = wb;
	s->zero_off = boff;
	s->ring_off = boff + ns->lba_size;
	s->ring_len = (blen - ns->lba_size) / ns->dma_align * ns->dma_align;
	s->ext.esz = sizeof(struct unio_stream_ext);
	s->chunks.esz = sizeof(struct unio_stream_chunk);
	s->writes.esz = sizeof(struct unio_stream_write);
	memset(unio_data_ptr(&r->q, s->zero_off), 0, ns->lba_size);
	*out = s;
	return 0;
}

static struct unio_stream_ext *unio_stream_last(struct unio_stream *s)
{
	return s->ext.n ? unio_fifo_at(&s->ext, s->ext.n - 1) : NULL;
}

/*
 * Copy @len bytes (from @src, or zeros when NULL) to the end of the stream
 * through the bounce ring, extending its open extent where the ring goes
 * on. At the ring's end the open extent gives its last bytes off the
 * alignment to a new extent at the ring's start, so that it ends aligned.
 */
static int unio_stream_bounce(struct unio_stream *s, const void *src, uint32_t len)
{
	struct unio_stream_ext *e = unio_stream_last(s);
	char *base = unio_data_ptr(&s->r->q, s->ring_off);

	while (len) {
		uint64_t phys = s->b_tail % s->ring_len;
		uint64_t room = s->ring_len - phys;
		uint64_t free_b = s->ring_len - (s->b_tail - s->b_head);
		uint32_t take;
		/* The last extent, a copy ending here with bytes to issue. */
		bool open = e && e->bounce_end && e->bounce_end == s->b_tail &&
			    e->src + e->len == s->ring_off + phys &&
			    s->ext_issue < s->ext.n;

		if (!free_b)
			return -ENOBUFS;
		if (!open) {
			e = unio_fifo_add(&s->ext);
			if (!e)
				return -ENOMEM;
			*e = (struct unio_stream_ext){ .src = s->ring_off + phys,
				.end = s->bytes, .bounce_end = s->b_tail };
		}
		take = len < room ? len : room;
		if (take > free_b)
			take = free_b;
		if (src) {
			memcpy(base + phys, src, take);
			src = (const char *)src + take;
		} else {
			memset(base + phys, 0, take);
		}
		e->len += take;
		e->end += take;
		s->b_tail += take;
		e->bounce_end = s->b_tail;
		s->bytes += take;
		len -= take;
		if (s->b_tail % s->ring_len == 0 && e->len % s->align) {
			/* At the ring's end: move the tail off the alignment on. */
			uint32_t k = e->len % s->align;
			uint64_t from = e->src + e->len - k;
			struct unio_stream_ext *n;

			if (s->ring_len - (s->b_tail - s->b_head) < k)
				return -ENOBUFS;
			e->len -= k;
			e->end -= k;
			n = unio_fifo_add(&s->ext);	/* may move e */
			if (!n)
				return -ENOMEM;
			*n = (struct unio_stream_ext){ .src = s->ring_off, .len = k,
				.end = s->bytes };
			memmove(base, unio_data_ptr(&s->r->q, from), k);
			s->b_tail += k;
			n->bounce_end = s->b_tail;
			e = n;
		}
	}
	return 0;
}

/*
 * Queue gathers of whole blocks: those of write_bytes each while that much
 * waits; with @flush every whole block; with @end the rest too, padded to
 * a block (zeros from the bounce ring to the alignment, then from the zero
 * block). 0 when nothing more can go now (no command slot: again later).
 */
static int unio_stream_issue(struct unio_stream *s, bool flush, bool end)
{
	for (;;) {
		uint64_t pend, want, pad = 0, got = 0;
		struct unio_stream_write *w;
		uint32_t nseg = 0, i;
		int ret;

		if (s->info.err)
			return s->info.err;
		if (s->ended)
			return 0;
		pend = s->bytes - s->issued;
		want = pend / s->lba * s->lba;
		if (want > s->write_bytes)
			want = s->write_bytes;
		if (!want) {
			if (!end)
				return 0;
			if (!pend) {
				s->ended = true;
				return 0;
			}
			if (pend % s->align) {
				uint32_t z = s->align - pend % s->align;

				/* -ENOBUFS: once writes in flight free the ring. */
				ret = unio_stream_bounce(s, NULL, z);
				if (ret)
					return ret;
				s->info.pad_bytes += z;
				pend += z;
			}
			want = pend;
			pad = s->lba - pend;
		} else if (!flush && !end && pend < s->write_bytes) {
			return 0;
		}

		if (s->segs_cap < s->ext.n - s->ext_issue + 1) {
			uint32_t cap = s->ext.n - s->ext_issue + 1;
			struct unio_seg *n = realloc(s->segs, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			s->segs = n;
			s->segs_cap = cap;
		}
		for (i = s->ext_issue; got < want; i++) {
			const struct unio_stream_ext *e = unio_fifo_at(&s->ext, i);
			uint64_t start = e->end - e->len;
			uint64_t from = s->issued + got - start;
			uint64_t take = e->len - from;

			if (take > want - got)
				take = want - got;
			s->segs[nseg++] = (struct unio_seg){ .off = e->src + from,
							     .len = (uint32_t)take };
			got += take;
		}
		if (pad)
			s->segs[nseg++] = (struct unio_seg){ .off = s->zero_off,
							     .len = (uint32_t)pad };
		ret = unio_nvme_gather(s->r, s->ns, s->segs, nseg,
				       s->slba + (s->issued >> s->ns->lba_shift),
				       s->write_seq, s);
		if (ret == -EBUSY)
			return 0;
		if (ret < 0) {
			s->info.err = ret;
			return ret;
		}
		w = unio_fifo_add(&s->writes);
		if (!w) {
			/* Its completion would have nowhere to go. */
			s->info.err = -ENOMEM;
			return -ENOMEM;
		}
		*w = (struct unio_stream_write){ .end = s->issued + want };
		s->write_seq++;
		s->inflight++;
		s->issued += want;
		s->info.writes++;
		s->info.commands += ret;
		s->info.drive_bytes += want + pad;
		s->info.pad_bytes += pad;
		while (s->ext_issue < s->ext.n &&
		       ((struct unio_stream_ext *)unio_fifo_at(&s->ext, s->ext_issue))->end <=
		       s->issued)
			s->ext_issue++;
		if (pad)
			s->ended = true;
	}
}

void unio_nvme_stream_done(struct unio_nvme_ring *nr, uint32_t idx)
{
	struct unio_nvme_cmd *c = &nr->cmds[idx];
	struct unio_stream *s = c->stream;
	struct unio_stream_write *w = unio_fifo_at(&s->writes,
						   (uint32_t)(c->user_data - s->write_head_seq));

	w->done = true;
	w->err = c->err;
	w->status = c->status;
	s->inflight--;
	unio_nvme_vec_free(c);
	c->ns = NULL;
	c->stream = NULL;
	c->next = nr->free_head;
	nr->free_head = idx;
	nr->unreaped--;

	/* The stream is on the drive up to the first write not done. */
	while (s->writes.n) {
		w = unio_fifo_at(&s->writes, 0);
		if (!w->done)
			break;
		if (w->err && !s->info.err) {
			s->info.err = w->err;
			s->info.status = w->status;
		}
		if (!s->info.err)
			s->info.durable = w->end < s->info.appended ? w->end : s->info.appended;
		unio_fifo_drop(&s->writes);
		s->write_head_seq++;
	}
	/*
	 * Extents wholly on the drive give their bounce space back; so does
	 * the part on the drive of a copy still growing (an MSS off the
	 * alignment makes one long copy).
	 */
	while (s->ext.n) {
		struct unio_stream_ext *e = unio_fifo_at(&s->ext, 0);
		uint64_t start = e->end - e->len, d;

		/* On the drive, so issued: s->ext_issue is past it. */
		if (e->end <= s->info.durable && s->ext_issue) {
			if (e->bounce_end)
				s->b_head = e->bounce_end;
			unio_fifo_drop(&s->ext);
			s->ext_issue--;
			continue;
		}
		d = s->info.durable > start ? s->info.durable - start : 0;
		d -= d % s->align;
		if (e->bounce_end && d) {
			e->src += d;
			e->len -= d;
			s->b_head = e->bounce_end - e->len;
		}
		break;
	}
}

UNIO_API int unio_stream_append(struct unio_stream *s, uint64_t off,
				uint32_t len, uint64_t user_data)
{
	struct unio_stream_chunk *ch;
	struct unio_stream_ext *e;
	int ret;

	if (!s || !len || off > s->r->q.data_size || len > s->r->q.data_size - off)
		return -EINVAL;
	if (s->info.err)
		return s->info.err;
	if (s->ended)
		return -EPIPE;
	if (len > s->cap_bytes - s->info.appended)
		return -ENOSPC;
	e = unio_stream_last(s);
	if ((off | len) % s->align || (e && e->len % s->align)) {
		/* Room first: a chunk is appended whole or not at all. */
		if (s->ring_len - (s->b_tail - s->b_head) < (uint64_t)len + 2 * s->align)
			return -ENOBUFS;
		ret = unio_stream_bounce(s, unio_data_ptr(&s->r->q, off), len);
		if (ret) {
			s->info.err = ret;
			return ret;
		}
		s->info.copied_bytes += len;
		s->info.appended += len;
		goto chunk;
	} else if (e && !e->bounce_end && e->src + e->len == off &&
		   (uint64_t)e->len + len <= UINT32_MAX - s->align &&
		   s->ext_issue < s->ext.n) {
		/* Right after the last extent, which still has bytes to issue. */
		e->len += len;
		e->end += len;
		s->bytes += len;
	} else {
		e = unio_fifo_add(&s->ext);
		if (!e)
			return -ENOMEM;
		*e = (struct unio_stream_ext){ .src = off, .len = len,
					       .end = s->bytes + len };
		s->bytes += len;
	}
	s->info.appended += len;
chunk:
	ch = unio_fifo_add(&s->chunks);
	if (!ch) {
		s->info.err = -ENOMEM;
		return -ENOMEM;
	}
	*ch = (struct unio_stream_chunk){ .end = s->info.appended, .user_data = user_data };
	ret = unio_stream_issue(s, false, false);
	return ret < 0 ? ret : 0;
}

UNIO_API int unio_stream_done(struct unio_stream *s, uint64_t *user_data,
			      unsigned int max)
{
	unsigned int n = 0;

	if (!s || (!user_data && max))
		return -EINVAL;
	/* Completions wait in the ring until someone looks. */
	if (s->inflight) {
		unio_nvme_process_cqes(s->r->nvme);
		unio_nvme_pump(s->r->nvme);
	}
	while (n < max && s->chunks.n) {
		struct unio_stream_chunk *ch = unio_fifo_at(&s->chunks, 0);

		if (ch->end > s->info.durable)
			break;
		user_data[n++] = ch->user_data;
		unio_fifo_drop(&s->chunks);
	}
	if (!n && s->info.err)
		return s->info.err;
	return n;
}

static uint64_t unio_stream_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

UNIO_API int unio_stream_sync(struct unio_stream *s, uint32_t flags,
			      uint64_t timeout_ns)
{
	struct unio_nvme_ring *nr;
	uint64_t deadline;
	int ret;

	if (!s || flags & ~UNIO_STREAM_SYNC_END)
		return -EINVAL;
	nr = s->r->nvme;
	deadline = timeout_ns ? unio_stream_now() + timeout_ns : 0;
	for (;;) {
		struct __kernel_timespec ts, *tsp = NULL;
		struct io_uring_cqe *cqe;

		ret = unio_stream_issue(s, true, flags & UNIO_STREAM_SYNC_END);
		if (ret < 0 && !(ret == -ENOBUFS && s->inflight))
			return ret;
		unio_nvme_pump(nr);
		unio_nvme_process_cqes(nr);
		if (s->info.err)
			return s->info.err;
		if (s->inflight)
			goto wait;
		if (flags & UNIO_STREAM_SYNC_END ? s->ended :
		    s->issued == s->bytes / s->lba * s->lba)
			return 0;
		/* Nothing in flight and still not all issued: a slot came free? */
		ret = unio_stream_issue(s, true, flags & UNIO_STREAM_SYNC_END);
		if (ret < 0)
			return ret;
		if (!s->inflight)
			return -EBUSY;	/* every command slot holds an unreaped one */
wait:
		if (deadline) {
			uint64_t now = unio_stream_now();

			if (now >= deadline)
				return -ETIME;
			ts.tv_sec = (deadline - now) / 1000000000ULL;
			ts.tv_nsec = (deadline - now) % 1000000000ULL;
			tsp = &ts;
		}
		ret = io_uring_submit_and_wait_timeout(&nr->ring, &cqe, 1, tsp, NULL);
		if (ret < 0 && ret != -ETIME && ret != -EINTR)
			return ret;
	}
}

UNIO_API int unio_stream_get_info(const struct unio_stream *s,
				  struct unio_stream_info *info)
{
	if (!s || !info)
		return -EINVAL;
	*info = s->info;
	return 0;
}

UNIO_API void unio_stream_close(struct unio_stream *s)
{
	if (!s)
		return;
	/* Its commands point to it: they must be done. */
	while (s->inflight) {
		struct io_uring_cqe *cqe;

		unio_nvme_process_cqes(s->r->nvme);
		if (!s->inflight)
			break;
		if (io_uring_wait_cqe(&s->r->nvme->ring, &cqe) < 0 && errno != EINTR) {
			/* The ring is broken: leave the stream to its commands. */
			return;
		}
	}
	free(s->ext.v);
	free(s->chunks.v);
	free(s->writes.v);
	free(s->segs);
	free(s);
}
