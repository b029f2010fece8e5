// SPDX-License-Identifier: GPL-2.0-only
/*
 * recv --store NVME: wire -> region -> NVMe with no copy.
 *
 * Every region buffer that received bytes is written whole, by NVMe
 * passthrough from the buffer itself (libunifiedio's UNIFIED_IO_OP_NVME,
 * the data area being io_uring fixed buffer 0), to the next free slot of the
 * namespace, one slot per buffer, before the buffer goes back to the NIC.
 * An index in memory says where each chunk lies (flow, stream offset,
 * length, slot, offset in the slot). At the end every slot is read back by
 * passthrough into region buffers and each chunk checked against the
 * stream's pattern again; every flow's chunks must cover its stream exactly.
 *
 * Slots are whole buffers, so a 1448-byte TCP segment in a 4 KiB buffer
 * costs 4 KiB of the drive: a log of received buffers, not a file.
 *
 * --store-layout stream instead stores each flow as the byte stream it was,
 * at a range of its own (flow i from block i * span), with libunifiedio's
 * streams (unio_stream_*): the chunks are gathered from where the NIC put
 * them into runs of whole blocks (SGLs, no copy), each block written once,
 * and a buffer goes back to the NIC once all its bytes are on the drive;
 * only bytes off the DMA alignment are copied, and counted. The read-back
 * checks every flow's range against its stream, and the padding after it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netstream.h"

/* --store-layout stream: buffers in a row for the bounce rings (at least). */
#define NS_STORE_BOUNCE_BUFS	64

/* The index in memory is the index on file (netstream.h). */
#define ns_store_entry ns_index_entry

struct ns_store {
	struct unio_nvme *ns;
	struct unio_nvme_info info;
	uint32_t slot_size;
	uint32_t lbas_per_slot;
	uint64_t nslots;
	uint64_t next_slot;
	struct ns_store_entry *idx;
	size_t nidx, cap;
	/* Buffers waiting for their write: data-area offset and slot. */
	uint64_t *pend_buf, *pend_slot;
	unsigned int npend, cap_pend;
	unsigned int batch;		/* most commands per submit */
	struct unified_io_desc *descs;
	struct unified_io_cqe *cqes;
	/* --store-layout stream */
	bool stream;
	uint64_t span;			/* blocks per flow */
	uint64_t *bounce;		/* buffers taken for the bounce rings */
	unsigned int nbounce;
	uint32_t buf_shift;
	struct unio_stream *st[NS_MAX_FLOWS];
	uint64_t synced[NS_MAX_FLOWS];	/* bytes appended at the last sync */
	bool ended[NS_MAX_FLOWS];	/* its end written */
	uint64_t done[256];
};

/*
 * --store-layout stream: a span of the namespace per flow, and contiguous
 * buffers of the region's free list for the streams' bounce rings (one
 * range cut in equal parts, each whole buffers: on the 4 KiB boundary a
 * stream that copies every chunk needs), taken before the NIC is lent
 * buffers, while the free list runs in order. Each part holds a block of
 * zeros and a ring of at least two blocks.
 */
static int ns_store_stream_open(struct ns_recv *rc, struct ns_store *st)
{
	unsigned int nflows = rc->o->nflows, run = 0, per, want, i;
	uint64_t bs = st->slot_size, first = 0, part;

	st->stream = true;
	st->buf_shift = __builtin_ctz(st->slot_size);
	st->span = st->info.nr_lbas / nflows;
	if (!st->span) {
		tool_err("--store-layout stream: %u flows on %" PRIu64 " blocks", nflows,
			 st->info.nr_lbas);
		return -ENOSPC;
	}
	per = (4 * st->info.lba_size + bs - 1) / bs;
	want = NS_STORE_BOUNCE_BUFS / nflows > per ? NS_STORE_BOUNCE_BUFS / nflows : per;
	want *= nflows;
	st->bounce = calloc(want, sizeof(*st->bounce));
	if (!st->bounce)
		return -ENOMEM;
	/* A run of buffers in a row; all go back at the end. */
	for (i = 0; i < want; i++) {
		uint64_t off;

		if (unio_buf_alloc(rc->q, NS_OWNER, &off))
			break;
		st->bounce[st->nbounce++] = off;
		if (run && off == first + run * bs) {
			run++;
		} else {
			first = off;
			run = 1;
		}
	}
	part = run / nflows * bs;
	if (run != want || part < 3ULL * st->info.lba_size) {
		tool_err("--store-layout stream: no %u free buffers in a row for %u bounce "
			 "rings (%u)", want, nflows, run);
		return -ENOBUFS;
	}
	for (i = 0; i < nflows; i++) {
		UNIO_STREAM_OPTS(so, .nsid = st->info.nsid, .bounce_off = first + i * part,
				 .bounce_len = part);
		int ret = unio_stream_open(rc->r, (uint64_t)i * st->span, st->span, &so,
					   &st->st[i]);

		if (ret) {
			tool_err("--store-layout stream: flow %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

unsigned int ns_store_bufs_taken(const struct ns_recv *rc)
{
	return rc->store ? rc->store->nbounce : 0;
}

int ns_store_open(struct ns_recv *rc, uint32_t slot_size)
{
	struct ns_report *rep = rc->rep;
	struct ns_store *st;
	int ret;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	ret = unio_nvme_open(rc->r, rc->o->store, NULL, &st->ns);
	if (ret) {
		tool_err("--store %s: %s", rc->o->store, strerror(-ret));
		free(st);
		return ret;
	}
	unio_nvme_get_info(st->ns, &st->info);
	if (slot_size % st->info.lba_size) {
		tool_err("--store: %u-byte buffers are not whole %u-byte blocks",
		       slot_size, st->info.lba_size);
		unio_nvme_close(st->ns);
		free(st);
		return -EINVAL;
	}
	st->slot_size = slot_size;
	st->lbas_per_slot = slot_size / st->info.lba_size;
	if (rc->o->store_stream) {
		rc->store = st;
		ret = ns_store_stream_open(rc, st);
		if (ret)
			return ret;
	}
	st->nslots = st->info.nr_lbas / st->lbas_per_slot;
	st->batch = rc->q->cq.ring_entries / 2;
	st->cap_pend = 1024;
	st->pend_buf = calloc(st->cap_pend, sizeof(*st->pend_buf));
	st->pend_slot = calloc(st->cap_pend, sizeof(*st->pend_slot));
	st->descs = calloc(st->batch, sizeof(*st->descs));
	st->cqes = calloc(st->batch, sizeof(*st->cqes));
	rc->store = st;
	if (!st->pend_buf || !st->pend_slot || !st->descs || !st->cqes)
		return -ENOMEM;
	rep->store_dev = rc->o->store;
	rep->store_stream = st->stream;
	rep->store_lba = st->info.lba_size;
	if (st->stream)
		tool_info(rc->o->quiet, "recv: --store %s: nsid %u, %u-byte blocks, each flow "
			  "a stream of up to %" PRIu64 " blocks%s", st->info.char_dev,
			  st->info.nsid, st->info.lba_size, st->span,
			  st->info.gather_flags & UNIO_NVME_GATHER_SGL ? " (SGL gather)" :
			  " (no SGLs: every chunk copied, counted)");
	else
		tool_info(rc->o->quiet, "recv: --store %s: nsid %u, %u-byte blocks, %" PRIu64
			" slots of %u bytes", st->info.char_dev, st->info.nsid,
			st->info.lba_size, st->nslots, slot_size);
	return 0;
}

/* The stream of flow @f takes the chunk, sync'ing first if its ring is full. */
static int ns_store_stream_add(struct ns_recv *rc, struct ns_flow *f,
			       uint64_t buf_off, uint64_t chunk_off, uint32_t len)
{
	struct ns_store *st = rc->store;
	struct unio_stream *s = st->st[f->slot];
	int ret;

	ret = unio_stream_append(s, buf_off + chunk_off, len, buf_off);
	if (ret == -ENOBUFS) {
		ret = unio_stream_sync(s, 0, 30ULL * 1000000000);
		if (!ret)
			ret = unio_stream_append(s, buf_off + chunk_off, len, buf_off);
	}
	if (ret) {
		tool_err("--store: flow %u: stream: %s", f->slot, strerror(-ret));
		return ret;
	}
	return 0;
}

int ns_store_add(struct ns_recv *rc, struct ns_flow *f, uint64_t buf_off,
		 uint64_t chunk_off, uint32_t len, uint64_t stream_off)
{
	struct ns_store *st = rc->store;
	struct ns_store_entry *e;
	uint64_t slot;

	if (st->stream)
		return ns_store_stream_add(rc, f, buf_off, chunk_off, len);

	/* Chunks of one buffer are adjacent in a round: they share its slot. */
	if (st->npend && st->pend_buf[st->npend - 1] == buf_off) {
		slot = st->pend_slot[st->npend - 1];
	} else {
		if (st->next_slot >= st->nslots) {
			tool_err("--store: the namespace is full (%" PRIu64 " slots)", st->nslots);
			return -ENOSPC;
		}
		if (st->npend == st->cap_pend) {
			uint64_t *b = realloc(st->pend_buf, 2 * st->cap_pend * sizeof(*b));
			uint64_t *s;

			if (!b)
				return -ENOMEM;
			st->pend_buf = b;
			s = realloc(st->pend_slot, 2 * st->cap_pend * sizeof(*s));
			if (!s)
				return -ENOMEM;
			st->pend_slot = s;
			st->cap_pend *= 2;
		}
		slot = st->next_slot++;
		st->pend_buf[st->npend] = buf_off;
		st->pend_slot[st->npend++] = slot;
	}
	if (st->nidx == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 4096;
		struct ns_store_entry *n = realloc(st->idx, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		st->idx = n;
		st->cap = cap;
	}
	e = &st->idx[st->nidx++];
	*e = (struct ns_store_entry){ .flow = f->slot, .len = len,
		.chunk_off = chunk_off, .stream_off = stream_off, .slot = slot };
	return 0;
}

/*
 * A completion of the region's CQ that unio_reap() took with the NVMe ones:
 * native --armed keeps it for its loop (the armed RECVs post at any time);
 * anywhere else the CQ holds nothing else while the drive works.
 */
static int ns_store_hold(struct ns_recv *rc, const struct unified_io_cqe *c)
{
	if (!rc->hold_cqes) {
		tool_err("--store: unexpected completion of opcode %u", c->opcode);
		return -EPROTO;
	}
	return ns_hold_cqe(rc, c);
}

/*
 * Run @n NVMe descriptors of st->descs and check every result. The writes'
 * library calls are counted (store_submits, store_reaps), not the read-back's.
 */
static int ns_store_run(struct ns_recv *rc, unsigned int n, bool write, uint32_t expect)
{
	const char *what = write ? "write" : "read";
	struct ns_store *st = rc->store;
	int ret, got = 0;

	rc->rep->store_submits += write;
	ret = unio_submit_descs(rc->r, st->descs, n);
	if (ret < 0) {
		tool_err("--store: %s: submit: %s", what, strerror(-ret));
		return ret;
	}
	while (got < (int)n) {
		rc->rep->store_reaps += write;
		ret = unio_reap(rc->r, st->cqes, n - got, n - got, 30ULL * 1000000000);
		if (ret < 0) {
			tool_err("--store: %s: reap: %s", what, strerror(-ret));
			return ret;
		}
		for (int i = 0; i < ret; i++) {
			const struct unified_io_cqe *c = &st->cqes[i];

			if (c->opcode != UNIFIED_IO_OP_NVME) {
				int err = ns_store_hold(rc, c);

				if (err)
					return err;
				continue;
			}
			if (c->res != (int)expect) {
				tool_err("--store: %s of slot %" PRIu64 ": %s%s%s", what,
				       (uint64_t)c->user_data,
				       c->res < 0 ? strerror(-c->res) : "short",
				       c->res == -EIO ? ": " : "",
				       c->res == -EIO ? unio_nvme_status_str(c->flags) : "");
				return c->res < 0 ? c->res : -EIO;
			}
			got++;
		}
	}
	return 0;
}

/*
 * Every flow's whole blocks to the drive, and a finished flow's end padded;
 * then the buffers whose bytes are all on the drive to @give_back.
 */
static int ns_store_stream_flush(struct ns_recv *rc,
				 int (*give_back)(void *, uint64_t), void *arg)
{
	struct ns_store *st = rc->store;
	int ret, n;

	for (unsigned int i = 0; i < rc->nflows; i++) {
		struct unio_stream *s = st->st[i];
		bool end = rc->flows[i].eof;
		struct unio_stream_info si;

		/* A flow with nothing new since its last sync has nothing to do. */
		unio_stream_get_info(s, &si);
		if (si.appended == st->synced[i] && (!end || st->ended[i]))
			continue;
		st->synced[i] = si.appended;
		st->ended[i] = end;
		rc->rep->store_submits++;
		ret = unio_stream_sync(s, end ? UNIO_STREAM_SYNC_END : 0, 30ULL * 1000000000);
		if (ret) {
			unio_stream_get_info(s, &si);
			tool_err("--store: flow %u: stream write: %s%s%s", i, strerror(-ret),
				 si.status ? ": " : "",
				 si.status ? unio_nvme_status_str(si.status) : "");
			return ret;
		}
		while ((n = unio_stream_done(s, st->done, 256)) > 0) {
			/* One return per chunk: the kernel counts a reference each. */
			for (int k = 0; k < n; k++) {
				ret = give_back ? give_back(arg, st->done[k]) : 0;
				if (ret)
					return ret;
			}
		}
		if (n < 0)
			return n;
	}
	return 0;
}

bool ns_store_holds_buffers(const struct ns_recv *rc)
{
	return rc->store && rc->store->stream;
}

int ns_store_flush_to(struct ns_recv *rc, int (*give_back)(void *, uint64_t), void *arg)
{
	if (rc->store->stream)
		return ns_store_stream_flush(rc, give_back, arg);
	return ns_store_flush(rc);
}

int ns_store_flush(struct ns_recv *rc)
{
	struct ns_store *st = rc->store;
	struct ns_report *rep = rc->rep;
	unsigned int done = 0;
	int ret;

	if (st->stream)
		return ns_store_stream_flush(rc, NULL, NULL);

	while (done < st->npend) {
		unsigned int n = st->npend - done < st->batch ? st->npend - done : st->batch;

		for (unsigned int i = 0; i < n; i++) {
			uint64_t slot = st->pend_slot[done + i];

			memset(&st->descs[i], 0, sizeof(st->descs[i]));
			unio_prep_nvme_write(&st->descs[i], st->pend_buf[done + i],
					     slot * st->lbas_per_slot, st->lbas_per_slot, slot);
		}
		ret = ns_store_run(rc, n, true, st->slot_size);
		if (ret)
			return ret;
		rep->store_writes += n;
		rep->store_bytes += (uint64_t)n * st->slot_size;
		rep->store_blocks += (uint64_t)n * st->lbas_per_slot;
		done += n;
	}
	st->npend = 0;
	return 0;
}

/* Read @nlb blocks from @slba into @buf (one region buffer), checked. */
static int ns_store_read(struct ns_recv *rc, uint64_t buf, uint64_t slba, uint32_t nlb)
{
	struct ns_store *st = rc->store;

	memset(&st->descs[0], 0, sizeof(st->descs[0]));
	unio_prep_nvme_read(&st->descs[0], buf, slba, nlb, slba);
	return ns_store_run(rc, 1, false, nlb * st->info.lba_size);
}

/*
 * Every flow's range read back buffer by buffer: the stream, then zeros to
 * the end of its last block, then what the namespace held before (not
 * checked). Write amplification and copies into the report.
 */
static int ns_store_stream_verify(struct ns_recv *rc, const uint64_t *bufs)
{
	struct ns_store *st = rc->store;
	struct ns_report *rep = rc->rep;
	uint32_t bs = 1U << st->buf_shift, lba = st->info.lba_size;
	uint64_t received = 0;
	int ret;

	/* Ends not written yet (a flow that ended with the last round). */
	ret = ns_store_stream_flush(rc, NULL, NULL);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < rc->nflows; i++) {
		const struct ns_flow *f = &rc->flows[i];
		struct unio_stream_info si;
		uint64_t len = f->stream_off, padded = (len + lba - 1) / lba * lba;

		unio_stream_get_info(st->st[i], &si);
		received += len;
		rep->store_streams[i].flow = f->hdr_ok ? f->hdr.flow : i;
		rep->store_streams[i].slba = (uint64_t)i * st->span;
		rep->store_streams[i].bytes = len;
		rep->store_nstreams = i + 1;
		rep->store_writes += si.writes;
		rep->store_commands += si.commands;
		rep->store_bytes += si.drive_bytes;
		rep->store_blocks += si.drive_bytes / lba;
		rep->store_copied_bytes += si.copied_bytes;
		rep->store_pad_bytes += si.pad_bytes;
		if (si.appended != len || si.durable != len) {
			snprintf(rep->store_msg, sizeof(rep->store_msg),
				 "flow %u: %" PRIu64 " bytes received, %" PRIu64 " appended, %"
				 PRIu64 " on the drive", i, len, si.appended, si.durable);
			return -EIO;
		}
		for (uint64_t off = 0; off < padded; off += bs) {
			uint32_t n = padded - off < bs ? padded - off : bs;
			const uint8_t *p = unio_data_ptr(rc->q, bufs[0]);
			uint32_t data = len - off < n ? len - off : n;

			ret = ns_store_read(rc, bufs[0], (uint64_t)i * st->span + off / lba,
					    n / lba);
			if (ret)
				return ret;
			rep->store_read_bytes += n;
			if (!ns_flow_expect(f, off, p, data)) {
				snprintf(rep->store_msg, sizeof(rep->store_msg),
					 "flow %u: bytes [%" PRIu64 ", +%u) differ on the drive",
					 i, off, data);
				return -EIO;
			}
			for (uint32_t k = data; k < n; k++) {
				if (p[k]) {
					snprintf(rep->store_msg, sizeof(rep->store_msg),
						 "flow %u: padding byte %" PRIu64 " is %#x",
						 i, off + k, p[k]);
					return -EIO;
				}
			}
		}
	}
	rep->store_ok = true;
	snprintf(rep->store_msg, sizeof(rep->store_msg),
		 "%u flows stored contiguously and read back: %" PRIu64 " drive bytes for %"
		 PRIu64 " received, %" PRIu64 " copied for alignment", rc->nflows,
		 rep->store_bytes, received, rep->store_copied_bytes);
	return 0;
}

int ns_store_verify(struct ns_recv *rc, const uint64_t *bufs, unsigned int nbufs)
{
	struct ns_store *st = rc->store;
	struct ns_report *rep = rc->rep;
	uint64_t next[NS_MAX_FLOWS] = { 0 };
	size_t e = 0;
	uint64_t slot;
	int ret;

	if (st->stream)
		return ns_store_stream_verify(rc, bufs);

	if (nbufs > st->batch)
		nbufs = st->batch;
	for (slot = 0; slot < st->next_slot; slot += nbufs) {
		unsigned int n = st->next_slot - slot < nbufs ? st->next_slot - slot : nbufs;

		for (unsigned int i = 0; i < n; i++) {
			memset(&st->descs[i], 0, sizeof(st->descs[i]));
			unio_prep_nvme_read(&st->descs[i], bufs[i],
					    (slot + i) * st->lbas_per_slot, st->lbas_per_slot,
					    slot + i);
		}
		ret = ns_store_run(rc, n, false, st->slot_size);
		if (ret)
			return ret;
		rep->store_read_bytes += (uint64_t)n * st->slot_size;
		for (; e < st->nidx && st->idx[e].slot < slot + n; e++) {
			const struct ns_store_entry *x = &st->idx[e];
			const struct ns_flow *f = &rc->flows[x->flow];
			const char *p = (const char *)unio_data_ptr(rc->q, bufs[x->slot - slot]) +
					 x->chunk_off;

			if (x->stream_off != next[x->flow]) {
				snprintf(rep->store_msg, sizeof(rep->store_msg),
					 "flow %u: chunk at stream offset %" PRIu64
					 " after %" PRIu64 " bytes", x->flow, x->stream_off,
					 next[x->flow]);
				return -EIO;
			}
			if (!ns_flow_expect(f, x->stream_off, p, x->len)) {
				snprintf(rep->store_msg, sizeof(rep->store_msg),
					 "flow %u: %u bytes at stream offset %" PRIu64
					 " (slot %" PRIu64 ") differ after the read-back",
					 x->flow, x->len, x->stream_off, x->slot);
				return -EIO;
			}
			next[x->flow] += x->len;
		}
	}
	for (unsigned int i = 0; i < rc->nflows; i++) {
		if (next[i] != rc->flows[i].stream_off) {
			snprintf(rep->store_msg, sizeof(rep->store_msg),
				 "flow %u: %" PRIu64 " bytes on the drive, %" PRIu64 " received",
				 i, next[i], rc->flows[i].stream_off);
			return -EIO;
		}
	}
	rep->store_ok = true;
	snprintf(rep->store_msg, sizeof(rep->store_msg),
		 "%zu chunks in %" PRIu64 " slots read back and verified", st->nidx,
		 st->next_slot);
	return 0;
}

int ns_store_write_index(struct ns_recv *rc, const char *path)
{
	struct ns_store *st = rc->store;
	struct ns_index_hdr *h;
	struct ns_index_flow *fl;
	size_t len;
	char *buf;
	int ret;

	if (!st || !rc->rep->store_ok)
		return -EINVAL;
	len = sizeof(*h) + rc->nflows * sizeof(*fl) + st->nidx * sizeof(*st->idx);
	buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;
	h = (struct ns_index_hdr *)buf;
	memcpy(h->magic, NS_INDEX_MAGIC, sizeof(h->magic));
	h->version = NS_INDEX_VERSION;
	h->hdr_size = sizeof(*h);
	h->slot_size = st->slot_size;
	h->lba_size = st->info.lba_size;
	h->nflows = rc->nflows;
	h->nsid = st->info.nsid;
	h->nslots = st->next_slot;
	h->nentries = st->nidx;
	fl = (struct ns_index_flow *)(h + 1);
	for (unsigned int i = 0; i < rc->nflows; i++) {
		fl[i].hdr_flow = rc->flows[i].hdr.flow;
		fl[i].stream_bytes = rc->flows[i].stream_off;
	}
	if (st->nidx)
		memcpy(fl + rc->nflows, st->idx, st->nidx * sizeof(*st->idx));
	/* Through a shared mapping: copycount sees no copy for it. */
	ret = tool_store_file(path, buf, len);
	free(buf);
	if (ret)
		tool_err("--store-index %s: %s", path, strerror(-ret));
	return ret;
}

void ns_store_close(struct ns_recv *rc)
{
	struct ns_store *st = rc->store;

	if (!st)
		return;
	for (unsigned int i = 0; i < NS_MAX_FLOWS; i++)
		unio_stream_close(st->st[i]);
	for (unsigned int i = 0; i < st->nbounce; i++)
		unio_buf_free(rc->q, NS_OWNER, st->bounce[i]);
	free(st->bounce);
	unio_nvme_close(st->ns);
	free(st->idx);
	free(st->pend_buf);
	free(st->pend_slot);
	free(st->descs);
	free(st->cqes);
	free(st);
	rc->store = NULL;
}
