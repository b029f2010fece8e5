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

#include "internal.h"

#define UNIO_STREAM_DEF_WRITE	(256U << 10)
#define UNIO_STREAM_MAX_WRITE	(1U << 30)

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
	bool copy;			/* every chunk through the bounce ring */
	bool ending;			/* the end is being written */
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
	uint64_t boff, blen, bnd, zero;
	uint32_t wb, flags;
	bool copy;
	int ret;

	if (!r || !r->map || !out || !nr_lbas)
		return -EINVAL;
	ret = unio_opts_check(opts, sizeof(*opts));
	if (ret)
		return ret;
	flags = UNIO_OPTS_GET(opts, flags, 0);
	if (flags & ~UNIO_STREAM_F_COPY)
		return -EINVAL;
	ns = unio_nvme_lookup(r->nvme, UNIO_OPTS_GET(opts, nsid, 0));
	if (!ns)
		return -EINVAL;
	if (slba >= ns->nr_lbas || nr_lbas > ns->nr_lbas - slba ||
	    ns->lba_size % ns->dma_align)
		return -EINVAL;
	/*
	 * Without SGLs every chunk is copied, into a ring whose ends lie on
	 * the virtual boundary: the copies then meet only there.
	 */
	copy = flags & UNIO_STREAM_F_COPY || ns->virt_boundary;
	bnd = copy && ns->virt_boundary >= ns->dma_align ? ns->virt_boundary + 1 :
							   ns->dma_align;
	zero = copy ? 0 : ns->lba_size;
	boff = UNIO_OPTS_GET(opts, bounce_off, 0);
	blen = UNIO_OPTS_GET(opts, bounce_len, 0);
	if (boff % bnd || boff > r->q.data_size || blen > r->q.data_size - boff ||
	    blen < zero || (blen - zero) / bnd * bnd < 2ULL * ns->lba_size)
		return -EINVAL;
	wb = UNIO_OPTS_GET(opts, write_bytes, 0) ?: UNIO_STREAM_DEF_WRITE;
	wb = wb / ns->lba_size * ns->lba_size;
	if (!wb)
		wb = ns->lba_size;
	if (wb > UNIO_STREAM_MAX_WRITE)
		wb = UNIO_STREAM_MAX_WRITE;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->r = r;
	s->ns = ns;
	s->slba = slba;
	s->cap_bytes = nr_lbas << ns->lba_shift;
	s->lba = ns->lba_size;
	s->align = ns->dma_align;
	s->copy = copy;
	s->write_bytes = wb;
	s->zero_off = boff;
	s->ring_off = boff + zero;
	s->ring_len = (blen - zero) / bnd * bnd;
	s->ext.esz = sizeof(struct unio_stream_ext);
	s->chunks.esz = sizeof(struct unio_stream_chunk);
	s->writes.esz = sizeof(struct unio_stream_write);
	if (zero)
		memset(unio_data_ptr(&r->q, s->zero_off), 0, zero);
	*out = s;
	return 0;
}

static struct unio_stream_ext *unio_stream_last(struct unio_stream *s)
{
	return s->ext.n ? unio_fifo_at(&s->ext, s->ext.n - 1) : NULL;
}

static uint64_t unio_stream_room(const struct unio_stream *s)
{
	return s->ring_len - (s->b_tail - s->b_head);
}

/*
 * Copy @len bytes (from @src, or zeros when NULL) to the end of the stream
 * through the bounce ring, extending the last extent while it is a copy
 * that goes on there; the caller checked the room. Extents start on the
 * alignment (the ring's ends lie on it, and b_tail is off it only while an
 * extent off it is the last), so one that reaches the ring's end has an
 * aligned length, as every extent but the last must.
 */
static int unio_stream_bounce(struct unio_stream *s, const void *src, uint32_t len)
{
	struct unio_stream_ext *e = unio_stream_last(s);
	char *base = unio_data_ptr(&s->r->q, s->ring_off);

	while (len) {
		uint64_t phys = s->b_tail % s->ring_len;
		uint64_t room = s->ring_len - phys;
		uint32_t take = len < room ? len : room;
		/* The last extent, a copy ending here with bytes to issue. */
		bool open = e && e->bounce_end && e->bounce_end == s->b_tail &&
			    e->src + e->len == s->ring_off + phys &&
			    s->ext_issue < s->ext.n;

		if (!open) {
			e = unio_fifo_add(&s->ext);
			if (!e)
				return -ENOMEM;
			*e = (struct unio_stream_ext){ .src = s->ring_off + phys,
				.end = s->bytes, .bounce_end = s->b_tail };
		}
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
			uint32_t z;

			if (!end)
				return 0;
			/* From here on nothing more is appended. */
			s->ending = true;
			if (!pend) {
				s->ended = true;
				return 0;
			}
			/*
			 * Zeros through the ring to the alignment (to the block
			 * when copying all: no segment may follow a copy), then
			 * a segment of the zero block.
			 */
			z = s->copy ? s->lba - pend : (s->align - pend % s->align) % s->align;
			if (z) {
				if (unio_stream_room(s) < z)
					return -ENOBUFS;	/* once writes free it */
				ret = unio_stream_bounce(s, NULL, z);
				if (ret)
					return ret;
				s->info.pad_bytes += z;
				pend += z;
			}
			want = pend;
			pad = (s->lba - pend % s->lba) % s->lba;
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
		/* Its entry first: the completion must find it. */
		w = unio_fifo_add(&s->writes);
		if (!w)
			return -ENOMEM;
		*w = (struct unio_stream_write){ .end = s->issued + want };
		ret = unio_nvme_gather(s->r, s->ns, s->segs, nseg,
				       s->slba + (s->issued >> s->ns->lba_shift),
				       s->write_seq, s);
		if (ret < 0)
			s->writes.n--;
		if (ret == -EBUSY)
			return 0;
		if (ret < 0) {
			s->info.err = ret;
			return ret;
		}
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
		if (s->ending && s->issued == s->bytes)
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
	bool flush = false;
	int ret;

	if (!s || !len || off > s->r->q.data_size || len > s->r->q.data_size - off)
		return -EINVAL;
	if (s->info.err)
		return s->info.err;
	if (s->ending)
		return -EPIPE;
	if (len > s->cap_bytes - s->info.appended)
		return -ENOSPC;
	ch = unio_fifo_add(&s->chunks);
	if (!ch)
		return -ENOMEM;
	e = unio_stream_last(s);
	if (s->copy || (off | len) % s->align || (e && e->len % s->align)) {
		/* Room first: a chunk goes in whole or not at all. */
		if ((uint64_t)len > s->ring_len - s->align) {
			s->chunks.n--;
			return -EINVAL;
		}
		if (unio_stream_room(s) < len) {
			s->chunks.n--;
			return -ENOBUFS;
		}
		ret = unio_stream_bounce(s, unio_data_ptr(&s->r->q, off), len);
		if (ret) {
			s->chunks.n--;
			s->info.err = ret;
			return ret;
		}
		s->info.copied_bytes += len;
		/* Free the ring early: write once it is half full. */
		flush = s->b_tail - s->b_head >= s->ring_len / 2;
	} else if (e && !e->bounce_end && e->src + e->len == off &&
		   (uint64_t)e->len + len <= UINT32_MAX - s->align &&
		   s->ext_issue < s->ext.n) {
		/* Right after the last extent, which still has bytes to issue. */
		e->len += len;
		e->end += len;
		s->bytes += len;
	} else {
		e = unio_fifo_add(&s->ext);
		if (!e) {
			s->chunks.n--;
			return -ENOMEM;
		}
		*e = (struct unio_stream_ext){ .src = off, .len = len,
					       .end = s->bytes + len };
		s->bytes += len;
	}
	s->info.appended += len;
	*ch = (struct unio_stream_chunk){ .end = s->info.appended, .user_data = user_data };
	ret = unio_stream_issue(s, flush, false);
	return ret < 0 && ret != -ENOMEM ? ret : 0;
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
	/* Whole blocks a full command table held back. */
	unio_stream_issue(s, false, s->ending);
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

/* Everything asked of sync is issued and on the drive. */
static bool unio_stream_synced(const struct unio_stream *s, bool end)
{
	if (s->inflight)
		return false;
	return end ? s->ended : s->issued == s->bytes / s->lba * s->lba;
}

UNIO_API int unio_stream_sync(struct unio_stream *s, uint32_t flags,
			      uint64_t timeout_ns)
{
	bool end = flags & UNIO_STREAM_SYNC_END;
	struct unio_nvme_ring *nr;
	uint64_t deadline;
	int ret;

	if (!s || flags & ~UNIO_STREAM_SYNC_END)
		return -EINVAL;
	nr = s->r->nvme;
	deadline = timeout_ns ? unio_now_ns() + timeout_ns : 0;
	for (;;) {
		struct __kernel_timespec ts, *tsp = NULL;
		struct io_uring_cqe *cqe;

		ret = unio_stream_issue(s, true, end);
		if (ret < 0 && !(ret == -ENOBUFS && s->inflight))
			return ret;
		/* Completions free queue depth for the backlog: then issue it. */
		unio_nvme_process_cqes(nr);
		unio_nvme_pump(nr);
		if (s->info.err)
			return s->info.err;
		if (unio_stream_synced(s, end))
			return 0;
		if (nr->nomem)
			return -ENOMEM;		/* a CQE waits for memory */
		/*
		 * Nothing of the stream in flight and nothing could be issued:
		 * the command slots hold others' commands, which free them
		 * when they complete, or completions not yet reaped.
		 */
		if (!s->inflight && !nr->inflight) {
			ret = unio_stream_issue(s, true, end);
			if (ret < 0)
				return ret;
			if (!s->inflight)
				return -EBUSY;
		}
		if (deadline) {
			uint64_t now = unio_now_ns();

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
	/* Its commands point to it: they must be done, backlogged ones too. */
	while (s->inflight) {
		struct io_uring_cqe *cqe;
		int ret;

		unio_nvme_process_cqes(s->r->nvme);
		unio_nvme_pump(s->r->nvme);
		if (!s->inflight)
			break;
		ret = io_uring_wait_cqe(&s->r->nvme->ring, &cqe);
		if (ret < 0 && ret != -EINTR)
			return;	/* the ring is broken: leave it to its commands */
	}
	free(s->ext.v);
	free(s->chunks.v);
	free(s->writes.v);
	free(s->segs);
	free(s);
}
