// SPDX-License-Identifier: GPL-2.0
/*
 * Armed (multishot) RECV, UNIFIED_IO_RECV_F_ARM, and UNIFIED_IO_OP_CANCEL on
 * the module's ring. Needs UNIFIED_IO_FEAT_RECV_ARM (SKIP otherwise); the
 * zero-copy fixture also needs UNIFIED_IO_FEAT_NET_PROVIDER.
 *
 * Every stream is checked byte for byte: the sender writes the pattern of
 * its flow (net_flow.c), each chunk is compared with the pattern at its
 * stream offset, and the chunks of a flow, in completion order, must be the
 * stream from its first byte to its last, once each (the offset of the next
 * chunk is where the last one ended). Completions are waited for with
 * UNIFIED_IO_COMPLETE (min_complete, timeout) or, where a test says so, by
 * reading the CQ tail with a load-acquire and no system call at all.
 *
 *  arm_refused		F_ARM with len, addr, owner, desc flags, reserved
 *			words, an unknown flag, F_BPF with no chain, a
 *			one-entry CQ, a pipe, a closed fd, fd -1, a UDP
 *			socket: each one completion with its errno, nothing
 *			taken from the socket, the buffers and the net
 *			counters unchanged
 *  arm_busy		what is queued comes at SUBMIT, nothing more until
 *			the peer writes; a second arm on the socket is EBUSY
 *			and every refused RECV and CANCEL leaves the live arm
 *			delivering; the peer's close ends it with res 0 after
 *			the last byte; CANCEL then is ENOENT and a new arm at
 *			EOF has its final completion at once
 *  cancel_refused	CANCEL with a non-zero owner, len, addr, flags or
 *			reserved word, an unknown net.flags bit, F_ALL with
 *			an fd, an unarmed socket, a closed fd, a pipe: each
 *			refused, the arm unaffected; then CANCEL: the final
 *			-ECANCELED before the CANCEL's res 1, what the peer
 *			writes afterwards stays on the socket and a one-shot
 *			RECV takes it from the next byte; F_ALL with nothing
 *			armed is 0
 *  stream_veth		8 MiB over veth, armed once, every chunk copied
 *			(F_COPIED), buffers freed as it goes, waits in
 *			COMPLETE; final 0 after the last byte
 *  stream_lo		8 MiB over lo, armed once, the CQ read with
 *			load-acquire and no system call (SUBMIT and COMPLETE
 *			counters unchanged from the arm to the final)
 *  ended_at_submit	an arm on a socket whose peer closed (or reset) after
 *			writing: the data and the final (0 or -ECONNRESET)
 *			are in the CQ when SUBMIT returns
 *  reset		the peer resets (SO_LINGER 0) after every byte was
 *			delivered: final -ECONNRESET; and a veth stream whose
 *			sender closes with an RST: an exact prefix, then
 *			-ECONNRESET
 *  cancel_midstream	a veth stream cancelled twice while data is in
 *			flight: the final -ECANCELED precedes the CANCEL's
 *			completion (res 1), one-shot RECVs and a new arm go
 *			on from the next byte, the stream ends exact
 *  cancel_all		three sockets armed, CANCEL F_ALL: res 3 after three
 *			-ECANCELED finals; armed again, each stream ends
 *			exact; then F_ALL finds none (0)
 *  cq_full		an armed RECV is consumed only with two free CQ
 *			slots and holds one of them: other descriptors get
 *			the rest, and a chunk with no slot stops it with
 *			-ENOSPC in the held slot; a CQ of 8 not reaped while
 *			data flows: 7 chunks and -ENOSPC, the rest still on
 *			the socket, and re-arming after each -ENOSPC the
 *			stream ends exact
 *  no_buffers		a region of 8 buffers held by the application: 8
 *			chunks and -ENOBUFS; freed and re-armed (again after
 *			each -ENOBUFS), the stream ends exact
 *  four_flows		4 veth flows armed at once on one region, their
 *			completions interleaved, each stream exact
 *  close_fd		closing the socket's fd does not stop its arm (chunks
 *			go on, the peer's close ends it); CANCEL F_ALL stops
 *			an arm whose fd is closed; releasing the region stops
 *			one, and the socket goes with it (the peer sees the
 *			connection end); the module's refcount comes back
 *  region_release	a region released (munmap, close) with three arms
 *			live while data flows: the refcount comes back and
 *			the sockets are armed again on another region
 *  release_race	the region released 40 times while the arms' work
 *			takes data and FINs of 16 sockets: the kernel log
 *			stays clean, the refcount comes back
 *  forked_child	a child arms a socket on a region of its own and
 *			exits: its region goes, the parent's arm continues
 *			the stream at the child's last byte; a child arms on
 *			the parent's region (shared by fork) and exits: the
 *			arm lives on and the parent cancels it
 *  ktls_while_armed	kTLS installed on an armed socket: the next wake
 *			stops the arm with -EPROTONOSUPPORT, taking nothing;
 *			kTLS decrypts the record; a new arm is refused
 *  bpf		F_BPF with F_ARM: the chain (an XOR program) runs over
 *			every chunk before its completion; F_BPF with no
 *			chain is refused at SUBMIT (ENOENT)
 *  zc.stream		(needs the provider) the region bound to the test
 *			NIC's queue, 32 MiB (8 on the debug kernel) armed
 *			once: every chunk zero-copy (no F_COPIED), buffers
 *			returned through the refill ring, the CQ read with
 *			load-acquire: no system call from the arm to the
 *			final
 *  zc.uring_cancel_parked_bound  (needs the provider and io_uring) an
 *			io_uring armed RECV on the bound region over lo: a
 *			4-entry io_uring CQ parks a record, whose buffer is
 *			lent; CANCEL gives it back, and after UNBIND the
 *			region can be bound again (no EBUSY)
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/tls.h>
#include <liburing.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>

#include "net_test.h"
#include "ut_net.skel.h"

#define SQ		64
#define CQ		16384
#define BUF		4096
#define NBUFS		8192	/* 32 MiB: a whole 8 MiB stream fits */
#define OWNER		NT_OWNER
#define PORT		7841
#define LO_PORT		7941
#define XOR		0x5a
#define ARM		UNIFIED_IO_RECV_F_ARM
#define ARM_BPF		(UNIFIED_IO_RECV_F_ARM | UNIFIED_IO_RECV_F_BPF)
#define SEC_NS		1000000000ULL
#define MAX_BAD		64

/* What a completion's user_data says: kind, flow, generation. */
#define K_ARM		0xa7ULL
#define K_ONE		0x05ULL
#define K_FREE		0xf4ULL
#define K_CANCEL	0xcaULL
#define K_NOP		0x40ULL
#define K_BAD		0xbdULL
#define UD(k, flow, n)	((k) << 56 | (uint64_t)(flow) << 40 | (n))
#define UD_KIND(ud)	((ud) >> 56)
#define UD_FLOW(ud)	((unsigned int)((ud) >> 40) & 0xff)

#define REQUIRE_ARM() do {						\
	NT_REQUIRE_RECV();						\
	if (!(nt_features() & UNIFIED_IO_FEAT_RECV_ARM))		\
		SKIP(return, "no UNIFIED_IO_FEAT_RECV_ARM (UNIFIED_IO_KERNEL=%s)", \
		     getenv("UNIFIED_IO_KERNEL") ?: "?");		\
} while (0)

/* --- the armed receiver: one region, up to 8 flows ----------------------- */

struct af {
	int sock;
	uint64_t off;		/* stream offset of the next byte */
	uint64_t expect;	/* bytes the sender writes, 0: not known */
	uint64_t ud;		/* user_data of the live RECV, 0: none */
	bool oneshot;		/* the live RECV is a one-shot one */
	uint64_t since;		/* bytes the live RECV delivered */
	uint32_t gen;
	bool ended;		/* a final completion said EOF */
	int32_t final;		/* the last final result */
	uint64_t final_seq;	/* its place among the completions */
	unsigned int finals;
	uint64_t chunks;
};

struct bad_cqe {
	uint64_t ud;
	int32_t res;
	uint32_t flags;
	uint8_t opcode;
};

struct ar {
	struct nl_region *r;
	uint16_t owner;
	int nf;
	struct af f[NL_MAX_FLOWS];
	int copied;		/* -1 either, 0 never F_COPIED, 1 always */
	uint8_t xor;		/* chunks starting a buffer, F_BPF */
	bool hold;		/* keep the buffers (queued, not given back) */
	bool refill;		/* give back through the refill ring */
	uint64_t *pend;		/* buffers to FREE */
	uint32_t npend, pend_cap;
	uint64_t seq;		/* completions processed */
	uint64_t chunks, bytes, copied_chunks, zc_chunks, frees, refills;
	int last_flow;
	uint64_t switches;	/* a completion of another flow than the last */
	unsigned int cancels;
	int32_t cancel_res;
	uint64_t cancel_seq;
	uint64_t nops;
	unsigned int nbad;
	struct bad_cqe bad[MAX_BAD];
	char err[NL_ERR_LEN];
};

static int ar_init(struct ar *a, struct nl_region *r, int nf, const int *socks,
		   uint64_t expect)
{
	memset(a, 0, sizeof(*a));
	a->r = r;
	a->owner = OWNER;
	a->nf = nf;
	a->copied = -1;
	a->last_flow = -1;
	a->pend_cap = 2 * r->l.nr_bufs;
	a->pend = calloc(a->pend_cap, sizeof(*a->pend));
	for (int i = 0; i < nf; i++) {
		a->f[i].sock = socks ? socks[i] : -1;
		a->f[i].expect = expect;
	}
	return a->pend ? 0 : -ENOMEM;
}

static void ar_fini(struct ar *a)
{
	free(a->pend);
	a->pend = NULL;
}

static int ar_chunk(struct ar *a, unsigned int fi, const struct unified_io_cqe *c)
{
	struct nl_region *r = a->r;
	struct af *f = &a->f[fi];
	uint32_t bs = r->l.buf_size;
	uint64_t in = c->addr % bs, base = c->addr - in;
	bool copied = c->flags & UNIFIED_IO_CQE_F_COPIED;
	const struct unified_io_buf_entry *e;
	uint8_t xor = in ? 0 : a->xor;
	long bad;

	if (c->flags & ~(uint32_t)(UNIFIED_IO_CQE_F_MORE | UNIFIED_IO_CQE_F_COPIED)) {
		snprintf(a->err, sizeof(a->err), "flow %u: chunk with flags %#x (res %d)",
			 fi, c->flags, c->res);
		return -EPROTO;
	}
	if (c->res <= 0 || c->addr >= r->l.data_size || in + c->res > bs) {
		snprintf(a->err, sizeof(a->err),
			 "flow %u: chunk of %d bytes at %#llx is not inside one buffer",
			 fi, c->res, (unsigned long long)c->addr);
		return -EPROTO;
	}
	e = &r->bt[base / bs];
	if (e->state != UNIFIED_IO_BUF_APP || e->owner != a->owner) {
		snprintf(a->err, sizeof(a->err),
			 "flow %u: chunk at %#llx: buffer state %u owner %#x, want APP %#x",
			 fi, (unsigned long long)c->addr, e->state, e->owner, a->owner);
		return -EPROTO;
	}
	if (a->copied >= 0 && a->copied != copied) {
		snprintf(a->err, sizeof(a->err),
			 "flow %u: chunk at stream offset %llu %s F_COPIED",
			 fi, (unsigned long long)f->off, copied ? "with" : "without");
		return -EPROTO;
	}
	bad = nl_pattern_check(fi, f->off, (uint8_t *)r->q.data + c->addr, c->res, xor);
	if (bad >= 0) {
		snprintf(a->err, sizeof(a->err),
			 "flow %u: stream byte %llu (chunk of %d at %#llx, +%ld) is %#04x, want %#04x",
			 fi, (unsigned long long)(f->off + bad), c->res,
			 (unsigned long long)c->addr, bad,
			 ((uint8_t *)r->q.data)[c->addr + bad],
			 nl_pattern_byte(fi, f->off + bad) ^ xor);
		return -EILSEQ;
	}
	f->off += c->res;
	f->since += c->res;
	f->chunks++;
	a->chunks++;
	a->bytes += c->res;
	if (copied)
		a->copied_chunks++;
	else
		a->zc_chunks++;
	if (f->expect && f->off > f->expect) {
		snprintf(a->err, sizeof(a->err), "flow %u: %llu bytes, the sender writes %llu",
			 fi, (unsigned long long)f->off, (unsigned long long)f->expect);
		return -EPROTO;
	}
	if (a->refill) {
		if (nl_refill_put(r, base, a->owner, 0)) {
			snprintf(a->err, sizeof(a->err), "refill ring full");
			return -ENOSPC;
		}
		a->refills++;
		return 0;
	}
	if (a->npend >= a->pend_cap) {
		snprintf(a->err, sizeof(a->err), "more than %u buffers to give back",
			 a->pend_cap);
		return -E2BIG;
	}
	a->pend[a->npend++] = base;
	return 0;
}

/* Account for one completion (already consumed from the CQ). */
static int ar_cqe(struct ar *a, const struct unified_io_cqe *c)
{
	uint64_t kind = UD_KIND(c->user_data);
	unsigned int fi = UD_FLOW(c->user_data);
	struct af *f;

	a->seq++;
	switch (kind) {
	case K_FREE:
		if (c->opcode != UNIFIED_IO_OP_FREE || c->res) {
			snprintf(a->err, sizeof(a->err), "FREE of %#llx: opcode %u res %d",
				 (unsigned long long)c->addr, c->opcode, c->res);
			return -EPROTO;
		}
		a->frees++;
		return 0;
	case K_CANCEL:
		if (c->opcode != UNIFIED_IO_OP_CANCEL || c->flags) {
			snprintf(a->err, sizeof(a->err), "CANCEL completion: opcode %u flags %#x",
				 c->opcode, c->flags);
			return -EPROTO;
		}
		a->cancels++;
		a->cancel_res = c->res;
		a->cancel_seq = a->seq;
		return 0;
	case K_NOP:
		a->nops++;
		return 0;
	case K_BAD:
		if (a->nbad < MAX_BAD)
			a->bad[a->nbad] = (struct bad_cqe){ c->user_data, c->res,
							    c->flags, c->opcode };
		a->nbad++;
		return 0;
	case K_ARM:
	case K_ONE:
		break;
	default:
		snprintf(a->err, sizeof(a->err),
			 "completion of no descriptor of the test: user_data %#llx opcode %u res %d flags %#x",
			 (unsigned long long)c->user_data, c->opcode, c->res, c->flags);
		return -EPROTO;
	}
	f = &a->f[fi];
	if (fi >= (unsigned int)a->nf || c->opcode != UNIFIED_IO_OP_RECV ||
	    c->user_data != f->ud) {
		snprintf(a->err, sizeof(a->err),
			 "completion of a RECV that is not live: user_data %#llx (flow %u live %#llx) res %d flags %#x",
			 (unsigned long long)c->user_data, fi,
			 fi < NL_MAX_FLOWS ? (unsigned long long)f->ud : 0ULL,
			 c->res, c->flags);
		return -EPROTO;
	}
	if (a->last_flow >= 0 && a->last_flow != (int)fi)
		a->switches++;
	a->last_flow = fi;
	if (c->flags & UNIFIED_IO_CQE_F_MORE)
		return ar_chunk(a, fi, c);
	if (c->flags) {
		snprintf(a->err, sizeof(a->err), "flow %u: final completion with flags %#x (res %d)",
			 fi, c->flags, c->res);
		return -EPROTO;
	}
	if (f->oneshot ? (c->res >= 0 && (uint64_t)c->res != f->since) ||
			 (c->res < 0 && f->since) :
			 c->res > 0) {
		snprintf(a->err, sizeof(a->err),
			 "flow %u: %s RECV's final result %d after %llu bytes",
			 fi, f->oneshot ? "one-shot" : "armed", c->res,
			 (unsigned long long)f->since);
		return -EPROTO;
	}
	f->final = c->res;
	f->final_seq = a->seq;
	f->finals++;
	f->ud = 0;
	/* 0 is the peer's close (a one-shot RECV that took bytes has their number). */
	if (c->res == 0) {
		f->ended = true;
		if (f->expect && f->off != f->expect) {
			snprintf(a->err, sizeof(a->err), "flow %u: EOF after %llu of %llu bytes",
				 fi, (unsigned long long)f->off,
				 (unsigned long long)f->expect);
			return -EPIPE;
		}
	}
	return 0;
}

/* Everything in the CQ, with load-acquires only (no system call). */
static int ar_reap(struct ar *a)
{
	struct unified_io_cqe *p, c;
	int n = 0, ret;

	while ((p = unio_peek_cqe(&a->r->q))) {
		c = *p;
		unio_cqe_seen(&a->r->q);
		ret = ar_cqe(a, &c);
		if (ret)
			return ret;
		n++;
	}
	return n;
}

/* Give back what was received: refill ring, or FREE through the SQ. */
static int ar_flush(struct ar *a)
{
	struct nl_region *r = a->r;
	int ret;

	if (a->refill) {
		nl_refill_flush(r);
		return 0;
	}
	if (a->hold)
		return 0;
	while (a->npend && unio_sq_space_left(&r->q)) {
		struct unified_io_desc *d = unio_get_sqe(&r->q);
		uint64_t off = a->pend[--a->npend];

		unio_prep_free(d, a->owner, off, UD(K_FREE, 0, off));
	}
	if (!unio_sq_ready(&r->q))
		return 0;
	unio_sq_flush(&r->q);
	ret = ut_submit(r->fd, unio_sq_ready(&r->q));
	if (ret < 0 && ret != -EBUSY) {
		snprintf(a->err, sizeof(a->err), "SUBMIT of FREEs: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

/*
 * Process what is ready; if nothing, give buffers back and wait in COMPLETE
 * (min_complete 1) for up to @timeout_ms. Returns completions processed.
 */
static int ar_step(struct ar *a, int timeout_ms)
{
	int n = ar_reap(a), ret;

	if (n < 0)
		return n;
	ret = ar_flush(a);
	if (ret)
		return ret;
	if (n)
		return n;
	ret = nl_complete(a->r, 1, (uint64_t)timeout_ms * 1000000ULL);
	if (ret < 0 && ret != -ETIME && ret != -EINTR) {
		snprintf(a->err, sizeof(a->err), "COMPLETE: %s", strerror(-ret));
		return ret;
	}
	return ar_reap(a);
}

typedef bool (*ar_done_fn)(struct ar *a, long arg);

static bool done_final(struct ar *a, long fi)
{
	return !a->f[fi].ud;
}

static bool done_all_final(struct ar *a, long unused)
{
	for (int i = 0; i < a->nf; i++)
		if (a->f[i].ud)
			return false;
	return true;
}

static bool done_all_ended(struct ar *a, long unused)
{
	for (int i = 0; i < a->nf; i++)
		if (!a->f[i].ended)
			return false;
	return true;
}

/* ar_step until @done; -ETIMEDOUT when no completion came for @idle_ms. */
static int ar_run(struct ar *a, ar_done_fn done, long arg, int idle_ms)
{
	uint64_t last = nl_now_ms(), seq = a->seq;

	while (!done(a, arg)) {
		int ret = ar_step(a, 100);

		if (ret < 0)
			return ret;
		if (a->seq != seq) {
			seq = a->seq;
			last = nl_now_ms();
		} else if (nl_now_ms() - last > (uint64_t)idle_ms) {
			int len = snprintf(a->err, sizeof(a->err),
					   "no completion for %d ms:", idle_ms);

			for (int i = 0; i < a->nf && len < NL_ERR_LEN; i++)
				len += snprintf(a->err + len, NL_ERR_LEN - len,
						" flow %d at %llu/%llu%s%s", i,
						(unsigned long long)a->f[i].off,
						(unsigned long long)a->f[i].expect,
						a->f[i].ud ? " live" : "",
						a->f[i].ended ? " eof" : "");
			return -ETIMEDOUT;
		}
	}
	return ar_flush(a);
}

/* Until flow @fi has at least @off bytes. */
static int ar_run_to(struct ar *a, int fi, uint64_t off, int idle_ms)
{
	uint64_t last = nl_now_ms(), seq = a->seq;

	while (a->f[fi].off < off) {
		int ret = ar_step(a, 100);

		if (ret < 0)
			return ret;
		if (a->seq != seq) {
			seq = a->seq;
			last = nl_now_ms();
		} else if (nl_now_ms() - last > (uint64_t)idle_ms) {
			snprintf(a->err, sizeof(a->err),
				 "flow %d: no completion for %d ms at %llu of %llu%s",
				 fi, idle_ms, (unsigned long long)a->f[fi].off,
				 (unsigned long long)off, a->f[fi].ud ? " (live)" : "");
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/*
 * Read the CQ tail with load-acquire until @done, without any system call
 * (the clock is read through the vDSO every 64 Ki polls). Only with
 * a->hold or a->refill: FREE would take a SUBMIT.
 */
static int ar_spin(struct ar *a, ar_done_fn done, long arg, int timeout_ms)
{
	uint64_t end = nl_now_ms() + timeout_ms;
	unsigned int polls = 0;

	if (!a->hold && !a->refill)
		return -EINVAL;
	while (!done(a, arg)) {
		struct unified_io_cqe *p = unio_peek_cqe(&a->r->q), c;
		int ret;

		if (!p) {
			if (!(++polls & 0xffff) && nl_now_ms() > end) {
				snprintf(a->err, sizeof(a->err),
					 "spinning: no final completion in %d ms (flow 0 at %llu)",
					 timeout_ms, (unsigned long long)a->f[0].off);
				return -ETIMEDOUT;
			}
			continue;
		}
		c = *p;
		unio_cqe_seen(&a->r->q);
		ret = ar_cqe(a, &c);
		if (ret)
			return ret;
		if (a->refill)
			nl_refill_flush(a->r);
	}
	return 0;
}

/* Submit @d inline, reaping while SUBMIT says the CQ is full (EBUSY). */
static int ar_submit(struct ar *a, const struct unified_io_desc *d)
{
	uint64_t end = nl_now_ms() + 10000;
	int ret;

	while ((ret = nl_submit_inline(a->r, d)) == -EBUSY && nl_now_ms() < end) {
		int n = ar_step(a, 10);

		if (n < 0)
			return n;
	}
	if (ret != 1 && !a->err[0])
		snprintf(a->err, sizeof(a->err), "SUBMIT (opcode %u): %d (%s)",
			 d->opcode, ret, ret < 0 ? strerror(-ret) : "not 1");
	return ret;
}

/* Arm flow @fi (F_ARM | @flags); returns SUBMIT's result. */
static int ar_arm(struct ar *a, int fi, uint32_t flags)
{
	struct af *f = &a->f[fi];
	struct unified_io_desc d;
	int ret;

	f->gen++;
	f->ud = UD(K_ARM, fi, f->gen);
	f->oneshot = false;
	f->since = 0;
	nl_prep_recv(&d, f->sock, a->owner, 0, ARM | flags, f->ud);
	ret = ar_submit(a, &d);
	if (ret != 1)
		f->ud = 0;
	return ret;
}

/* One one-shot RECV on flow @fi, run to its final completion. */
static int ar_oneshot(struct ar *a, int fi, int32_t *final)
{
	struct af *f = &a->f[fi];
	struct unified_io_desc d;
	int ret;

	f->gen++;
	f->ud = UD(K_ONE, fi, f->gen);
	f->oneshot = true;
	f->since = 0;
	nl_prep_recv(&d, f->sock, a->owner, 0, 0, f->ud);
	ret = ar_submit(a, &d);
	if (ret != 1) {
		f->ud = 0;
		return ret < 0 ? ret : -EPROTO;
	}
	ret = ar_run(a, done_final, fi, 5000);
	*final = f->final;
	return ret;
}

/* CANCEL (@fd, @flags), run to its completion; returns its res. */
static int ar_cancel(struct ar *a, int fd, uint32_t flags, int *res)
{
	struct unified_io_desc d = {
		.opcode = UNIFIED_IO_OP_CANCEL,
		.user_data = UD(K_CANCEL, 0, a->cancels + 1),
	};
	unsigned int n = a->cancels;
	uint64_t end = nl_now_ms() + 10000;
	int ret;

	d.net.fd = fd;
	d.net.flags = flags;
	ret = ar_submit(a, &d);
	if (ret != 1)
		return ret < 0 ? ret : -EPROTO;
	while (a->cancels == n) {
		if (nl_now_ms() > end) {
			snprintf(a->err, sizeof(a->err), "no CANCEL completion in 10 s");
			return -ETIMEDOUT;
		}
		ret = ar_step(a, 100);
		if (ret < 0)
			return ret;
	}
	*res = a->cancel_res;
	return 0;
}

/* --- harness glue --------------------------------------------------------- */

#define AR_OK(expr) do {						\
	int __r = (expr);						\
	ASSERT_EQ(0, __r) TH_LOG("%s: %s (%s)", #expr, strerror(-__r), a->err); \
} while (0)

#define AR_ARM(fi, fl) do {						\
	int __r = ar_arm(a, fi, fl);					\
	ASSERT_EQ(1, __r) TH_LOG("arm flow %d: %d (%s)", fi, __r, a->err); \
} while (0)

/* A stream from a sender process: listener, sender, accepted flows. */
struct xs {
	struct nl_sender snd;
	int lsock;
	int nf;
	int socks[NL_MAX_FLOWS];
};

static void xs_init(struct xs *s)
{
	memset(s, 0, sizeof(*s));
	s->snd.pid = -1;
	s->lsock = -1;
	for (int i = 0; i < NL_MAX_FLOWS; i++)
		s->socks[i] = -1;
}

static void xs_stop(struct xs *s)
{
	nl_sender_kill(&s->snd);
	for (int i = 0; i < NL_MAX_FLOWS; i++) {
		if (s->socks[i] >= 0)
			close(s->socks[i]);
		s->socks[i] = -1;
	}
	if (s->lsock >= 0)
		close(s->lsock);
	s->lsock = -1;
}

/* Listen on @addr:@port, start @flows x @bytes from namespace @nsfd. */
static void __xs_start(struct __test_metadata *_metadata, struct xs *s,
		       int nsfd, struct in_addr addr, uint16_t port, int flows,
		       uint64_t bytes, bool linger0)
{
	struct nl_sender_opts o = {
		.nsfd = nsfd,
		.dst = addr,
		.dport = port,
		.nr_flows = flows,
		.bytes = bytes,
		.linger0 = linger0,
	};
	int ret;

	xs_init(s);
	s->nf = flows;
	s->lsock = nl_listen(addr, port);
	ASSERT_LE(0, s->lsock) TH_LOG("listen on %u: %s", port, strerror(-s->lsock));
	ret = nl_sender_start(&s->snd, &o);
	ASSERT_EQ(0, ret) TH_LOG("sender: %s", strerror(-ret));
	ret = nl_accept_flows(s->lsock, flows, s->socks, 30000);
	ASSERT_EQ(0, ret) TH_LOG("accepting %d flows: %s (sender flow 0 err %d)",
				 flows, strerror(-ret), s->snd.sh->flow[0].err);
}

#define xs_start(s, ns, addr, port, fl, bytes, l0)			\
	__xs_start(_metadata, s, ns, addr, port, fl, bytes, l0)

static struct in_addr lo_addr(void)
{
	return (struct in_addr){ .s_addr = htonl(INADDR_LOOPBACK) };
}

/* The region's buffers, all free. */
static void __all_free(struct __test_metadata *_metadata, struct nl_region *r)
{
	struct unified_io_info info;

	nt_info(r, &info);
	EXPECT_EQ(r->l.nr_bufs, info.stats.bufs_free);
	EXPECT_EQ(0U, info.stats.bufs_app);
	EXPECT_EQ(0U, info.stats.bufs_kernel);
	for (__u32 i = 0; i < r->l.nr_bufs; i++) {
		ASSERT_EQ(UNIFIED_IO_BUF_FREE, r->bt[i].state) TH_LOG("buffer %u", i);
	}
}

#define all_free(r)	__all_free(_metadata, r)

/* Submit @d inline; its one completion, which must be the only one. */
static int __submit_one(struct __test_metadata *_metadata, struct nl_region *r,
			const struct unified_io_desc *d, struct unified_io_cqe *out)
{
	struct unified_io_cqe *c;
	int ret;

	ASSERT_EQ(0U, unio_cq_ready(&r->q));
	ret = nl_submit_inline(r, d);
	ASSERT_EQ(1, ret) TH_LOG("SUBMIT: %s", ret < 0 ? strerror(-ret) : "not 1");
	ASSERT_EQ(1U, unio_cq_ready(&r->q)) TH_LOG("completions of one descriptor");
	c = unio_peek_cqe(&r->q);
	*out = *c;
	unio_cqe_seen(&r->q);
	EXPECT_EQ(d->user_data, out->user_data);
	EXPECT_EQ(d->opcode, out->opcode);
	return out->res;
}

#define submit_one(r, d, c)	__submit_one(_metadata, r, d, c)

/*
 * Every chunk's buffer given back and its FREE completed: nothing of the
 * test's own left to come into the CQ.
 */
static void __ar_settle(struct __test_metadata *_metadata, struct ar *a)
{
	while (a->frees < a->chunks) {
		int r = ar_step(a, 1000);

		ASSERT_LT(0, r) TH_LOG("FREEs: %d (%llu of %llu done) %s", r,
				       (unsigned long long)a->frees,
				       (unsigned long long)a->chunks, a->err);
	}
}

#define ar_settle(a)	__ar_settle(_metadata, a)

/* Nothing arrives in the CQ within @ms (COMPLETE times out). */
static void __expect_quiet(struct __test_metadata *_metadata, struct nl_region *r,
			   int ms, const char *what)
{
	int ret = nl_complete(r, 1, (uint64_t)ms * 1000000ULL);

	EXPECT_EQ(-ETIME, ret) TH_LOG("%s: COMPLETE returned %d, %u ready", what,
				      ret, unio_cq_ready(&r->q));
}

#define expect_quiet(r, ms, what)	__expect_quiet(_metadata, r, ms, what)

/* Close @fd with an RST and wait until @peer sees it. */
static void __rst_close(struct __test_metadata *_metadata, int fd, int peer)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct pollfd pfd = { .fd = peer, .events = POLLIN };

	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	close(fd);
	for (int i = 0; i < 500; i++)
		if (poll(&pfd, 1, 10) == 1 && (pfd.revents & (POLLERR | POLLHUP)))
			break;
	ASSERT_TRUE(pfd.revents & (POLLERR | POLLHUP))
		TH_LOG("no RST seen: revents %#x", pfd.revents);
}

#define rst_close(fd, peer)	__rst_close(_metadata, fd, peer)

/* Wait until @fd (the peer of a socket we gave up) sees its end. */
static bool peer_sees_end(int fd, int timeout_ms)
{
	uint64_t end = nl_now_ms() + timeout_ms;
	char buf[65536];

	while (nl_now_ms() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
	}
	return false;
}

/* Wait up to @ms for the module's refcount to come back to @want. */
static int refcnt_back(int want, int ms)
{
	uint64_t end = nl_now_ms() + ms;
	int n;

	while ((n = nl_module_refcnt("unified_io")) != want && nl_now_ms() < end)
		usleep(20000);
	return n;
}

/* --- the fixture ---------------------------------------------------------- */

FIXTURE(armed) {
	struct nl_pair p;
	struct nl_region r;
	struct xs s;
	struct ar a;
	struct ut_net_bpf *skel;
};

FIXTURE_SETUP(armed)
{
	self->r.fd = -1;
	xs_init(&self->s);
	REQUIRE_ARM();
	if (!nt_pair_create(&self->p, "veth"))
		return;
	if (!nt_region_create(&self->r, SQ, CQ, BUF, NBUFS))
		return;
	ASSERT_EQ(0, ar_init(&self->a, &self->r, 1, NULL, 0));
}

FIXTURE_TEARDOWN(armed)
{
	xs_stop(&self->s);
	ar_fini(&self->a);
	nl_region_destroy(&self->r);
	if (self->skel)
		ut_net_bpf__destroy(self->skel);
	nl_pair_destroy(&self->p);
}

/* One way to spoil a descriptor. */
struct spoil {
	const char *what;
	int err;
	size_t off;
	size_t size;
	__u64 val;
};

#define SPOIL(w, e, field, v) {						\
	w, e, offsetof(struct unified_io_desc, field),			\
	sizeof(((struct unified_io_desc *)0)->field), v }

static void spoil(struct unified_io_desc *d, const struct spoil *s)
{
	__u8 *p = (__u8 *)d + s->off;

	switch (s->size) {
	case 1: *p = s->val; break;
	case 2: *(__u16 *)p = s->val; break;
	case 4: *(__u32 *)p = s->val; break;
	default: *(__u64 *)p = s->val; break;
	}
}

/* Armed RECVs refused at SUBMIT whatever the socket (it is srv). */
static const struct spoil arm_spoils[] = {
	SPOIL("F_ARM, len 1", EINVAL, len, 1),
	SPOIL("F_ARM, len 4096", EINVAL, len, 4096),
	SPOIL("F_ARM, len ~0", EINVAL, len, 0xffffffffU),
	SPOIL("F_ARM | bit 2", EINVAL, net.flags, ARM | 1U << 2),
	SPOIL("F_ARM | bit 31", EINVAL, net.flags, ARM | 1U << 31),
	SPOIL("F_ARM, addr 4096", EINVAL, addr, 4096),
	SPOIL("F_ARM, owner 0", EINVAL, owner, 0),
	SPOIL("F_ARM, desc flags 1", EINVAL, flags, 1),
	SPOIL("F_ARM, net.resv[0]", EINVAL, net.resv[0], 1),
	SPOIL("F_ARM, net.resv[3]", EINVAL, net.resv[3], 1ULL << 63),
	SPOIL("F_ARM | F_BPF, no chain", ENOENT, net.flags, ARM_BPF),
};

/* CANCELs refused whatever is armed (net.fd is set by the caller). */
static const struct spoil cancel_spoils[] = {
	SPOIL("CANCEL, owner 1", EINVAL, owner, 1),
	SPOIL("CANCEL, len 1", EINVAL, len, 1),
	SPOIL("CANCEL, addr 4096", EINVAL, addr, 4096),
	SPOIL("CANCEL, desc flags 1", EINVAL, flags, 1),
	SPOIL("CANCEL, net.flags bit 1", EINVAL, net.flags, 1U << 1),
	SPOIL("CANCEL, net.flags bit 31", EINVAL, net.flags, 1U << 31),
	SPOIL("CANCEL, net.resv[0]", EINVAL, net.resv[0], 1),
	SPOIL("CANCEL, net.resv[3]", EINVAL, net.resv[3], 1ULL << 63),
	SPOIL("CANCEL F_ALL, fd of the socket", EINVAL, net.flags,
	      UNIFIED_IO_CANCEL_F_ALL),
};

/* The parts of GET_INFO a refused descriptor must not change. */
static void __expect_untouched(struct __test_metadata *_metadata,
			       const struct unified_io_info *a,
			       const struct unified_io_info *b, const char *what)
{
	EXPECT_EQ(a->stats.bufs_free, b->stats.bufs_free) TH_LOG("%s", what);
	EXPECT_EQ(a->stats.bufs_app, b->stats.bufs_app) TH_LOG("%s", what);
	EXPECT_EQ(a->stats.bufs_kernel, b->stats.bufs_kernel) TH_LOG("%s", what);
	EXPECT_EQ(a->net.recv_bytes, b->net.recv_bytes) TH_LOG("%s", what);
	EXPECT_EQ(a->net.copy_chunks, b->net.copy_chunks) TH_LOG("%s", what);
	EXPECT_EQ(a->net.copy_bytes, b->net.copy_bytes) TH_LOG("%s", what);
	EXPECT_EQ(a->net.zc_chunks, b->net.zc_chunks) TH_LOG("%s", what);
	EXPECT_EQ(a->net.bpf_drops, b->net.bpf_drops) TH_LOG("%s", what);
}

#define expect_untouched(a, b, w)	__expect_untouched(_metadata, a, b, w)

TEST_F_TIMEOUT(armed, arm_refused, 120)
{
	struct unified_io_info before, after;
	static struct unified_io_buf_entry bt[NBUFS];
	struct nl_region one = { .fd = -1 };
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct unified_io_desc d;
	struct unified_io_cqe c;
	int cli, srv, pfd[2], closed, udp, us[2], tcp, lsn, mptcp, n = 0;

	nt_lo_pair(LO_PORT, &cli, &srv);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 5000));
	ASSERT_EQ(5000, nt_wait_inq(srv, 5000, 5000));
	ASSERT_EQ(0, pipe(pfd));
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, udp);
	ASSERT_EQ(0, bind(udp, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, us));
	ASSERT_EQ(3, write(us[1], "abc", 3));
	tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, tcp);
	lsn = nl_listen(sin.sin_addr, LO_PORT + 9);
	ASSERT_LE(0, lsn);
	/* -1 (EBADF below too) on a kernel without MPTCP. */
	mptcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
	/* Last: no fd opened after it takes its number. */
	closed = dup(0);
	ASSERT_LE(0, closed);
	close(closed);

	nt_info(&self->r, &before);
	memcpy(bt, self->r.bt, sizeof(bt));
	for (size_t i = 0; i < UT_ARRAY_SIZE(arm_spoils); i++, n++) {
		nl_prep_recv(&d, srv, OWNER, 0, ARM, UD(K_BAD, 0, i));
		spoil(&d, &arm_spoils[i]);
		EXPECT_EQ(-arm_spoils[i].err, submit_one(&self->r, &d, &c))
			TH_LOG("%s: %d", arm_spoils[i].what, c.res);
		EXPECT_EQ(0U, c.flags) TH_LOG("%s", arm_spoils[i].what);
		EXPECT_EQ(5000, nt_inq(srv)) TH_LOG("%s took data", arm_spoils[i].what);
	}
	{
		const struct { const char *what; int fd, err; } fds[] = {
			{ "F_ARM on a pipe", pfd[0], ENOTSOCK },
			{ "F_ARM on the region's fd", self->r.fd, ENOTSOCK },
			{ "F_ARM on a closed fd", closed, EBADF },
			{ "F_ARM on fd -1", -1, EBADF },
			{ "F_ARM on a UDP socket", udp, EPROTONOSUPPORT },
			{ "F_ARM on an AF_UNIX stream", us[0], EPROTONOSUPPORT },
			{ "F_ARM on an unconnected TCP socket", tcp, ENOTCONN },
			{ "F_ARM on a listening TCP socket", lsn, ENOTCONN },
			{ "F_ARM on an MPTCP socket", mptcp,
			  mptcp < 0 ? EBADF : EPROTONOSUPPORT },
		};

		for (size_t i = 0; i < UT_ARRAY_SIZE(fds); i++, n++) {
			nl_prep_recv(&d, fds[i].fd, OWNER, 0, ARM, UD(K_BAD, 1, i));
			EXPECT_EQ(-fds[i].err, submit_one(&self->r, &d, &c))
				TH_LOG("%s: %d", fds[i].what, c.res);
			EXPECT_EQ(0U, c.flags) TH_LOG("%s", fds[i].what);
		}
	}
	nt_info(&self->r, &after);
	EXPECT_EQ(before.stats.errors + n, after.stats.errors);
	EXPECT_EQ(before.stats.ops[UNIFIED_IO_OP_RECV] + n,
		  after.stats.ops[UNIFIED_IO_OP_RECV]);
	expect_untouched(&before, &after, "after the refused arms");
	EXPECT_EQ(0, memcmp(bt, self->r.bt, sizeof(bt))) TH_LOG("buffer table changed");
	/* Nothing armed by any of them: no chunk when more data comes. */
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 5000, 1000));
	ASSERT_EQ(6000, nt_wait_inq(srv, 6000, 5000));
	expect_quiet(&self->r, 200, "refused arms");
	{
		struct unified_io_desc cd = {
			.opcode = UNIFIED_IO_OP_CANCEL,
			.user_data = UD(K_CANCEL, 0, 1),
			.net.fd = -1,
			.net.flags = UNIFIED_IO_CANCEL_F_ALL,
		};

		EXPECT_EQ(0, submit_one(&self->r, &cd, &c))
			TH_LOG("CANCEL F_ALL after refused arms: a refusal left an arm");
	}

	/* A one-entry CQ has no slot for a chunk besides the final one. */
	if (!nt_region_create(&one, 1, 1, BUF, 16))
		return;
	ASSERT_EQ(1U, one.l.cq.ring_entries);
	nl_prep_recv(&d, srv, OWNER, 0, ARM, UD(K_BAD, 2, 0));
	EXPECT_EQ(-EINVAL, submit_one(&one, &d, &c)) TH_LOG("one-entry CQ: %d", c.res);
	EXPECT_EQ(0U, c.flags);
	EXPECT_EQ(6000, nt_inq(srv)) TH_LOG("the one-entry CQ's arm took data");
	nt_info(&one, &after);
	EXPECT_EQ(0U, after.net.recv_bytes);
	EXPECT_EQ(16U, after.stats.bufs_free);
	nl_region_destroy(&one);

	close(pfd[0]);
	close(pfd[1]);
	close(udp);
	close(us[0]);
	close(us[1]);
	close(tcp);
	close(lsn);
	if (mptcp >= 0)
		close(mptcp);
	close(cli);
	close(srv);
}

TEST_F_TIMEOUT(armed, arm_busy, 120)
{
	struct ar *a = &self->a;
	struct unified_io_info before, after;
	struct unified_io_desc d;
	int cli, srv, cli2, srv2, res;
	unsigned int nbad;

	nt_lo_pair(LO_PORT, &cli, &srv);
	nt_lo_pair(LO_PORT + 1, &cli2, &srv2);
	a->f[0].sock = srv;
	a->copied = 1;

	/* Nothing queued: no completion at SUBMIT, none until data comes. */
	AR_ARM(0, 0);
	EXPECT_EQ(0U, unio_cq_ready(&self->r.q));
	expect_quiet(&self->r, 200, "armed on an idle socket");

	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 3000));
	AR_OK(ar_run_to(a, 0, 3000, 5000));
	EXPECT_EQ(0U, a->f[0].finals);

	/* Queued data is taken at SUBMIT, before it returns. */
	ASSERT_EQ(0, nt_write_pattern(cli2, 1, 0, 2000));
	ASSERT_EQ(2000, nt_wait_inq(srv2, 2000, 5000));
	a->nf = 2;
	a->f[1].sock = srv2;
	AR_ARM(1, 0);
	ASSERT_LE(1U, unio_cq_ready(&self->r.q)) TH_LOG("no chunk at SUBMIT");
	ASSERT_LE(0, ar_reap(a)) TH_LOG("%s", a->err);
	EXPECT_EQ(2000U, a->f[1].off) TH_LOG("the queued bytes at SUBMIT");
	EXPECT_EQ(0, nt_inq(srv2));

	/* A second arm on srv: EBUSY; then every refused arm and CANCEL. */
	nt_info(&self->r, &before);
	nl_prep_recv(&d, srv, OWNER, 0, ARM, UD(K_BAD, 0, 100));
	ASSERT_EQ(1, ar_submit(a, &d));
	for (size_t i = 0; i < UT_ARRAY_SIZE(arm_spoils); i++) {
		nl_prep_recv(&d, srv, OWNER, 0, ARM, UD(K_BAD, 0, i));
		spoil(&d, &arm_spoils[i]);
		ASSERT_EQ(1, ar_submit(a, &d));
	}
	for (size_t i = 0; i < UT_ARRAY_SIZE(cancel_spoils); i++) {
		memset(&d, 0, sizeof(d));
		d.opcode = UNIFIED_IO_OP_CANCEL;
		d.user_data = UD(K_BAD, 1, i);
		d.net.fd = srv;
		spoil(&d, &cancel_spoils[i]);
		ASSERT_EQ(1, ar_submit(a, &d));
	}
	ASSERT_LE(0, ar_reap(a)) TH_LOG("%s", a->err);
	nbad = 1 + UT_ARRAY_SIZE(arm_spoils) + UT_ARRAY_SIZE(cancel_spoils);
	ASSERT_EQ(nbad, a->nbad);
	EXPECT_EQ(-EBUSY, a->bad[0].res) TH_LOG("second arm on one socket: %d", a->bad[0].res);
	for (size_t i = 0; i < UT_ARRAY_SIZE(arm_spoils); i++) {
		EXPECT_EQ(-arm_spoils[i].err, a->bad[1 + i].res)
			TH_LOG("%s while armed: %d", arm_spoils[i].what, a->bad[1 + i].res);
	}
	for (size_t i = 0; i < UT_ARRAY_SIZE(cancel_spoils); i++) {
		const struct bad_cqe *b = &a->bad[1 + UT_ARRAY_SIZE(arm_spoils) + i];

		EXPECT_EQ(-cancel_spoils[i].err, b->res)
			TH_LOG("%s while armed: %d", cancel_spoils[i].what, b->res);
	}
	for (unsigned int i = 0; i < nbad; i++) {
		EXPECT_EQ(0U, a->bad[i].flags) TH_LOG("refusal %u", i);
	}
	nt_info(&self->r, &after);
	EXPECT_EQ(before.stats.errors + nbad, after.stats.errors);
	expect_untouched(&before, &after, "refusals while armed");
	EXPECT_EQ(0U, a->f[0].finals) TH_LOG("a refusal stopped the arm: final %d",
					     a->f[0].final);
	EXPECT_EQ(0U, a->f[1].finals);

	/* Both arms still deliver, each to its own stream. */
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 3000, 50000));
	ASSERT_EQ(0, nt_write_pattern(cli2, 1, 2000, 30000));
	AR_OK(ar_run_to(a, 0, 53000, 5000));
	AR_OK(ar_run_to(a, 1, 32000, 5000));
	EXPECT_NE(0U, a->f[0].ud);

	/* The peer's close: final 0 after the last byte, nothing after. */
	ASSERT_EQ(0, shutdown(cli, SHUT_WR));
	AR_OK(ar_run(a, done_final, 0, 5000));
	EXPECT_EQ(0, a->f[0].final);
	EXPECT_EQ(1U, a->f[0].finals);
	EXPECT_EQ(53000U, a->f[0].off);
	EXPECT_TRUE(a->f[0].ended);

	/* Stopped: CANCEL finds nothing; a new arm at EOF ends at once. */
	AR_OK(ar_cancel(a, srv, 0, &res));
	EXPECT_EQ(-ENOENT, res) TH_LOG("CANCEL after the final completion");
	AR_ARM(0, 0);
	ASSERT_EQ(1U, unio_cq_ready(&self->r.q)) TH_LOG("final at SUBMIT at EOF");
	ASSERT_LE(0, ar_reap(a)) TH_LOG("%s", a->err);
	EXPECT_EQ(0, a->f[0].final);
	EXPECT_EQ(2U, a->f[0].finals);

	AR_OK(ar_cancel(a, srv2, 0, &res));
	EXPECT_EQ(1, res);
	EXPECT_EQ(-ECANCELED, a->f[1].final);
	EXPECT_LT(a->f[1].final_seq, a->cancel_seq);
	AR_OK(ar_run(a, done_all_final, 0, 5000));
	AR_OK(ar_flush(a));
	ar_settle(a);
	all_free(&self->r);
	close(cli);
	close(srv);
	close(cli2);
	close(srv2);
}

TEST_F_TIMEOUT(armed, cancel_refused, 120)
{
	struct ar *a = &self->a;
	struct unified_io_info before, after;
	struct unified_io_desc d;
	int cli, srv, cli2, srv2, pfd[2], closed, res, dupfd;
	unsigned int n = 0;
	int32_t final;

	nt_lo_pair(LO_PORT, &cli, &srv);
	nt_lo_pair(LO_PORT + 1, &cli2, &srv2);
	ASSERT_EQ(0, pipe(pfd));
	closed = dup(0);
	ASSERT_LE(0, closed);
	close(closed);
	a->f[0].sock = srv;
	a->copied = 1;

	/* Nothing armed: F_ALL stops none; an fd: ENOENT. */
	AR_OK(ar_cancel(a, -1, UNIFIED_IO_CANCEL_F_ALL, &res));
	EXPECT_EQ(0, res) TH_LOG("CANCEL F_ALL with nothing armed");
	AR_OK(ar_cancel(a, srv, 0, &res));
	EXPECT_EQ(-ENOENT, res) TH_LOG("CANCEL of a socket never armed");

	AR_ARM(0, 0);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 10000));
	AR_OK(ar_run_to(a, 0, 10000, 5000));
	nt_info(&self->r, &before);
	for (size_t i = 0; i < UT_ARRAY_SIZE(cancel_spoils); i++, n++) {
		memset(&d, 0, sizeof(d));
		d.opcode = UNIFIED_IO_OP_CANCEL;
		d.user_data = UD(K_BAD, 0, i);
		d.net.fd = srv;
		spoil(&d, &cancel_spoils[i]);
		ASSERT_EQ(1, ar_submit(a, &d));
	}
	{
		const struct { const char *what; int fd, flags, err; } fds[] = {
			{ "F_ALL with fd 0", 0, UNIFIED_IO_CANCEL_F_ALL, EINVAL },
			{ "F_ALL with the region's fd", self->r.fd,
			  UNIFIED_IO_CANCEL_F_ALL, EINVAL },
			{ "a socket not armed", srv2, 0, ENOENT },
			{ "a closed fd", closed, 0, EBADF },
			{ "fd -1 without F_ALL", -1, 0, EBADF },
			{ "a pipe", pfd[0], 0, ENOTSOCK },
			{ "the region's fd", self->r.fd, 0, ENOTSOCK },
		};

		for (size_t i = 0; i < UT_ARRAY_SIZE(fds); i++, n++) {
			memset(&d, 0, sizeof(d));
			d.opcode = UNIFIED_IO_OP_CANCEL;
			d.user_data = UD(K_BAD, 1, i);
			d.net.fd = fds[i].fd;
			d.net.flags = fds[i].flags;
			ASSERT_EQ(1, ar_submit(a, &d));
			ASSERT_LE(0, ar_reap(a)) TH_LOG("%s", a->err);
			ASSERT_EQ(n + 1, a->nbad);
			EXPECT_EQ(-fds[i].err, a->bad[n].res)
				TH_LOG("CANCEL of %s: %d", fds[i].what, a->bad[n].res);
		}
	}
	ASSERT_LE(0, ar_reap(a)) TH_LOG("%s", a->err);
	ASSERT_EQ(n, a->nbad);
	for (size_t i = 0; i < UT_ARRAY_SIZE(cancel_spoils); i++) {
		EXPECT_EQ(-cancel_spoils[i].err, a->bad[i].res)
			TH_LOG("%s: %d", cancel_spoils[i].what, a->bad[i].res);
	}
	for (unsigned int i = 0; i < n; i++) {
		EXPECT_EQ(0U, a->bad[i].flags);
		EXPECT_EQ(UNIFIED_IO_OP_CANCEL, a->bad[i].opcode);
	}
	nt_info(&self->r, &after);
	EXPECT_EQ(before.stats.errors + n, after.stats.errors);
	EXPECT_EQ(before.stats.ops[UNIFIED_IO_OP_CANCEL] + n,
		  after.stats.ops[UNIFIED_IO_OP_CANCEL]);
	expect_untouched(&before, &after, "refused CANCELs");
	EXPECT_EQ(0U, a->f[0].finals) TH_LOG("a refused CANCEL stopped the arm (%d)",
					     a->f[0].final);

	/* Another region has nothing armed on srv. */
	{
		struct nl_region other = { .fd = -1 };
		struct unified_io_desc cd = {
			.opcode = UNIFIED_IO_OP_CANCEL,
			.user_data = UD(K_CANCEL, 0, 9),
			.net.fd = srv,
		};
		struct unified_io_cqe c;

		if (!nt_region_create(&other, 8, 64, BUF, 16))
			return;
		EXPECT_EQ(-ENOENT, submit_one(&other, &cd, &c))
			TH_LOG("CANCEL on a region the socket is not armed on");
		cd.net.fd = -1;
		cd.net.flags = UNIFIED_IO_CANCEL_F_ALL;
		EXPECT_EQ(0, submit_one(&other, &cd, &c))
			TH_LOG("CANCEL F_ALL on another region");
		nl_region_destroy(&other);
	}

	/* The arm goes on. */
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 10000, 40000));
	AR_OK(ar_run_to(a, 0, 50000, 5000));

	/*
	 * CANCEL (through another fd of the socket): the final ECANCELED
	 * first, then CANCEL's own, res 1.
	 */
	dupfd = dup(srv);
	ASSERT_LE(0, dupfd);
	AR_OK(ar_cancel(a, dupfd, 0, &res));
	close(dupfd);
	EXPECT_EQ(1, res);
	EXPECT_EQ(1U, a->f[0].finals);
	EXPECT_EQ(-ECANCELED, a->f[0].final);
	EXPECT_LT(a->f[0].final_seq, a->cancel_seq)
		TH_LOG("the final completion must precede CANCEL's");
	EXPECT_EQ(50000U, a->f[0].off);

	/* What comes now stays queued; a one-shot RECV goes on from there. */
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 50000, 7000));
	ASSERT_EQ(7000, nt_wait_inq(srv, 7000, 5000));
	ar_settle(a);
	expect_quiet(&self->r, 200, "after CANCEL");
	EXPECT_EQ(7000, nt_inq(srv));
	AR_OK(ar_oneshot(a, 0, &final));
	EXPECT_EQ(7000, final);
	EXPECT_EQ(57000U, a->f[0].off);
	AR_OK(ar_cancel(a, -1, UNIFIED_IO_CANCEL_F_ALL, &res));
	EXPECT_EQ(0, res);
	close(pfd[0]);
	close(pfd[1]);
	close(cli);
	close(srv);
	close(cli2);
	close(srv2);
}

/*
 * One flow armed once: veth with COMPLETE and FREE as it goes, or lo with
 * the CQ read by load-acquire, no system call, buffers kept to the end.
 */
static void stream(struct __test_metadata *_metadata,
		   FIXTURE_DATA(armed) *self, bool lo)
{
	struct ar *a = &self->a;
	struct unified_io_info ip, i0, i1;
	uint64_t bytes = nt_volume(8 * NT_MIB, 4 * NT_MIB), t0;

	if (lo)
		xs_start(&self->s, -1, lo_addr(), LO_PORT, 1, bytes, false);
	else
		xs_start(&self->s, self->p.ns_tx, self->p.rx_addr, PORT, 1, bytes, false);
	a->f[0].sock = self->s.socks[0];
	a->f[0].expect = bytes;
	a->copied = 1;
	a->hold = lo;
	nt_info(&self->r, &ip);
	t0 = nl_now_ms();
	AR_ARM(0, 0);
	nt_info(&self->r, &i0);
	if (lo)
		AR_OK(ar_spin(a, done_final, 0, 120000));
	else
		AR_OK(ar_run(a, done_final, 0, 20000));
	nt_info(&self->r, &i1);
	TH_LOG("%llu bytes in %llu chunks, %llu ms",
	       (unsigned long long)a->bytes, (unsigned long long)a->chunks,
	       (unsigned long long)(nl_now_ms() - t0));
	EXPECT_EQ(0, a->f[0].final) TH_LOG("final %d (%s)", a->f[0].final,
					   strerror(-a->f[0].final));
	EXPECT_EQ(1U, a->f[0].finals);
	EXPECT_TRUE(a->f[0].ended);
	EXPECT_EQ(bytes, a->f[0].off);
	EXPECT_EQ(a->chunks, a->copied_chunks);
	ASSERT_EQ(0, nl_sender_wait(&self->s.snd, 30000));
	EXPECT_EQ(1U, i1.stats.ops[UNIFIED_IO_OP_RECV]) TH_LOG("armed once");
	EXPECT_EQ(bytes, i1.net.recv_bytes);
	EXPECT_EQ(bytes, i1.net.copy_bytes);
	EXPECT_EQ(a->chunks, i1.net.copy_chunks);
	if (lo) {
		/* No SUBMIT, no COMPLETE from the arm to the final. */
		EXPECT_EQ(i0.stats.submit_calls, i1.stats.submit_calls);
		EXPECT_EQ(i0.stats.sqes, i1.stats.sqes);
		EXPECT_EQ(i0.stats.waits, i1.stats.waits);
		EXPECT_EQ(a->chunks + 1, i1.stats.cqes - ip.stats.cqes)
			TH_LOG("completions of the arm: its chunks and one final");
		EXPECT_EQ(a->chunks, i1.stats.bufs_app);
		ASSERT_EQ(0, nl_free_bufs(&self->r, OWNER, a->pend, a->npend));
		a->npend = 0;
	} else {
		ar_settle(a);
	}
	all_free(&self->r);
}

TEST_F_TIMEOUT(armed, stream_veth, 600)
{
	stream(_metadata, self, false);
}

TEST_F_TIMEOUT(armed, stream_lo, 600)
{
	stream(_metadata, self, true);
}

/* A thread in COMPLETE: once (@once, min 1, long timeout) or in a loop. */
struct waiter {
	struct nl_region *r;
	pthread_t thread;
	bool once;
	volatile bool stop;
	unsigned long calls, timeouts, intr;
	int ret, err;
};

static void waiter_sig(int sig)
{
}

static void *waiter_main(void *p)
{
	struct waiter *w = p;

	if (w->once) {
		w->ret = nl_complete(w->r, 1, 20000000000ULL);
		return NULL;
	}
	while (!w->stop) {
		/* More than can ever be ready: it leaves on its 1 ms timeout. */
		int ret = nl_complete(w->r, CQ, 1000000ULL);

		w->calls++;
		if (ret == -ETIME)
			w->timeouts++;
		else if (ret == -EINTR)
			w->intr++;
		else if (ret < 0 && !w->err)
			w->err = ret;
	}
	return NULL;
}

static bool done_off(struct ar *a, long off)
{
	return a->f[0].off >= (uint64_t)off;
}

/* GET_INFO's waits once @w sleeps in COMPLETE (its count moved), then 50 ms. */
static int waiter_asleep(struct nl_region *r, uint64_t waits0)
{
	struct unified_io_info i;

	for (int t = 0; t < 1000; t++) {
		if (nl_region_info(r, &i))
			return -EIO;
		if (i.stats.waits > waits0) {
			usleep(50000);
			return 0;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

#define RUNS(r, who)	ut_fdinfo((r)->fd, "recv_arm_runs_" who)

/*
 * Who runs an armed RECV: a task sleeping in COMPLETE when the data comes
 * (as io_uring runs task work on the waiting submitter), the module's work
 * when nobody waits, so a consumer that never enters the kernel still gets
 * completions; a waiter that leaves (timeout, signal) with a run due hands
 * it to the work.  fdinfo counts the runs each way.  Data written by the
 * test on a loopback pair, so each phase is known: every byte arrives once,
 * in order, whoever ran the arm.
 */
TEST_F_TIMEOUT(armed, waiter_comes_and_goes, 600)
{
	struct sigaction sa = { .sa_handler = waiter_sig };	/* no restart */
	uint64_t bytes = nt_volume(8 * NT_MIB, 4 * NT_MIB), off, end;
	struct waiter w = { .r = &self->r, .once = true };
	long long task0, work0, task1, work1;
	struct unified_io_info i0, i1;
	struct ar *a = &self->a;
	int cli, srv, ret;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	nt_lo_pair(LO_PORT, &cli, &srv);
	a->f[0].sock = srv;
	a->f[0].expect = bytes;
	a->copied = 1;
	a->hold = true;
	AR_ARM(0, 0);
	task0 = RUNS(&self->r, "task");
	work0 = RUNS(&self->r, "work");
	ASSERT_LE(0, task0) TH_LOG("no recv_arm_runs_task in fdinfo");
	ASSERT_LE(0, work0);

	/* 1. Data while a thread sleeps in COMPLETE: that thread runs the arm. */
	nt_info(&self->r, &i0);
	ASSERT_EQ(0, pthread_create(&w.thread, NULL, waiter_main, &w));
	ASSERT_EQ(0, waiter_asleep(&self->r, i0.stats.waits));
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 65536));
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	EXPECT_LT(0, w.ret) TH_LOG("COMPLETE: %d", w.ret);
	task1 = RUNS(&self->r, "task");
	EXPECT_LT(task0, task1) TH_LOG("the sleeping COMPLETE did not run the arm");
	AR_OK(ar_spin(a, done_off, 65536, 20000));

	/* 2. Nobody in COMPLETE: the work runs it, and only the work. */
	work0 = RUNS(&self->r, "work");
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 65536, 65536));
	AR_OK(ar_spin(a, done_off, 131072, 20000));
	work1 = RUNS(&self->r, "work");
	EXPECT_LT(work0, work1) TH_LOG("nothing ran the arm with nobody waiting");
	EXPECT_EQ(task1, RUNS(&self->r, "task"));

	/*
	 * 3. The rest, written in 64 KiB pieces and consumed from the CQ with
	 * no system call, while another thread keeps entering COMPLETE and
	 * leaving it on a 1 ms timeout or a signal.
	 */
	memset(&w, 0, sizeof(w));
	w.r = &self->r;
	ASSERT_EQ(0, pthread_create(&w.thread, NULL, waiter_main, &w));
	end = nl_now_ms() + 120000;
	ret = 0;
	for (off = 131072; off < bytes && !ret; off += 65536) {
		uint64_t n = bytes - off < 65536 ? bytes - off : 65536;

		ret = nt_write_pattern(cli, 0, off, n);
		if (!ret)
			ret = ar_spin(a, done_off, off + n, 20000);
		if ((off >> 16) % 4 == 0)
			pthread_kill(w.thread, SIGUSR1);
		if (nl_now_ms() > end)
			ret = -ETIMEDOUT;
	}
	w.stop = true;
	pthread_kill(w.thread, SIGUSR1);
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	AR_OK(ret);
	close(cli);
	AR_OK(ar_spin(a, done_final, 0, 20000));
	nt_info(&self->r, &i1);
	TH_LOG("waiter: %lu COMPLETE calls, %lu timed out, %lu interrupted; "
	       "arm runs by COMPLETE %lld, by the work %lld",
	       w.calls, w.timeouts, w.intr, RUNS(&self->r, "task") - task0,
	       RUNS(&self->r, "work") - work0);
	EXPECT_EQ(0, w.err) TH_LOG("COMPLETE: %s", strerror(-w.err));
	EXPECT_EQ(0, a->f[0].final) TH_LOG("final %d (%s)", a->f[0].final,
					   strerror(-a->f[0].final));
	EXPECT_EQ(1U, a->f[0].finals);
	EXPECT_TRUE(a->f[0].ended);
	EXPECT_EQ(bytes, a->f[0].off);
	EXPECT_EQ(a->chunks, a->copied_chunks);
	EXPECT_EQ(bytes, i1.net.recv_bytes - i0.net.recv_bytes);
	ASSERT_EQ(0, nl_free_bufs(&self->r, OWNER, a->pend, a->npend));
	a->npend = 0;
	close(srv);
	all_free(&self->r);
}

TEST_F_TIMEOUT(armed, ended_at_submit, 120)
{
	struct ar *a = &self->a;
	int cli, srv, cli2, srv2;

	a->copied = 1;
	a->nf = 2;
	/* FIN after 20000 bytes. */
	nt_lo_pair(LO_PORT, &cli, &srv);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 20000));
	ASSERT_EQ(0, shutdown(cli, SHUT_WR));
	ASSERT_EQ(20000, nt_wait_inq(srv, 20000, 5000));
	for (int i = 0; i < 500; i++) {
		struct pollfd pfd = { .fd = srv, .events = POLLRDHUP };

		if (poll(&pfd, 1, 10) == 1)
			break;
	}
	a->f[0].sock = srv;
	a->f[0].expect = 20000;
	AR_ARM(0, 0);
	/* Everything is in the CQ when SUBMIT returns. */
	ASSERT_LE(0, ar_reap(a)) TH_LOG("%s", a->err);
	EXPECT_EQ(1U, a->f[0].finals) TH_LOG("no final completion at SUBMIT");
	EXPECT_EQ(0, a->f[0].final);
	EXPECT_EQ(20000U, a->f[0].off);

	/* RST after 3000 bytes. */
	nt_lo_pair(LO_PORT + 1, &cli2, &srv2);
	ASSERT_EQ(0, nt_write_pattern(cli2, 1, 0, 3000));
	ASSERT_EQ(3000, nt_wait_inq(srv2, 3000, 5000));
	rst_close(cli2, srv2);
	a->f[1].sock = srv2;
	AR_ARM(1, 0);
	ASSERT_LE(0, ar_reap(a)) TH_LOG("%s", a->err);
	EXPECT_EQ(1U, a->f[1].finals) TH_LOG("no final completion at SUBMIT");
	EXPECT_EQ(-ECONNRESET, a->f[1].final);
	EXPECT_EQ(3000U, a->f[1].off);
	close(cli);
	close(srv);
	close(srv2);
}

TEST_F_TIMEOUT(armed, reset, 300)
{
	struct ar *a = &self->a;
	uint64_t bytes = nt_volume(4 * NT_MIB, 2 * NT_MIB);
	int cli, srv;

	/* Every byte delivered, then the peer's RST. */
	nt_lo_pair(LO_PORT, &cli, &srv);
	a->f[0].sock = srv;
	a->copied = 1;
	AR_ARM(0, 0);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 100000));
	AR_OK(ar_run_to(a, 0, 100000, 5000));
	EXPECT_EQ(0U, a->f[0].finals);
	rst_close(cli, srv);
	AR_OK(ar_run(a, done_final, 0, 5000));
	EXPECT_EQ(-ECONNRESET, a->f[0].final)
		TH_LOG("final %d; 0 would say the peer closed in order", a->f[0].final);
	EXPECT_EQ(100000U, a->f[0].off);
	close(srv);

	/* A veth stream whose sender closes with an RST: an exact prefix. */
	ar_fini(a);
	ASSERT_EQ(0, ar_init(a, &self->r, 1, NULL, 0));
	xs_start(&self->s, self->p.ns_tx, self->p.rx_addr, PORT, 1, bytes, true);
	a->f[0].sock = self->s.socks[0];
	a->f[0].expect = bytes;
	a->copied = 1;
	AR_ARM(0, 0);
	AR_OK(ar_run(a, done_final, 0, 20000));
	EXPECT_EQ(-ECONNRESET, a->f[0].final) TH_LOG("final %d after %llu bytes",
						     a->f[0].final,
						     (unsigned long long)a->f[0].off);
	EXPECT_EQ(1U, a->f[0].finals);
	EXPECT_GE(bytes, a->f[0].off);
	TH_LOG("%llu of %llu bytes before the RST", (unsigned long long)a->f[0].off,
	       (unsigned long long)bytes);
}

TEST_F_TIMEOUT(armed, cancel_midstream, 600)
{
	struct ar *a = &self->a;
	uint64_t bytes = nt_volume(16 * NT_MIB, 8 * NT_MIB), at;
	int res;
	int32_t final;

	xs_start(&self->s, self->p.ns_tx, self->p.rx_addr, PORT, 1, bytes, false);
	a->f[0].sock = self->s.socks[0];
	a->f[0].expect = bytes;
	a->copied = 1;

	AR_ARM(0, 0);
	AR_OK(ar_run_to(a, 0, bytes / 8, 20000));
	/* The sender stops writing (no close), data still in flight. */
	self->s.snd.sh->pause = 1;
	AR_OK(ar_cancel(a, a->f[0].sock, 0, &res));
	EXPECT_EQ(1, res);
	EXPECT_EQ(-ECANCELED, a->f[0].final);
	EXPECT_EQ(1U, a->f[0].finals);
	ASSERT_LT(a->f[0].final_seq, a->cancel_seq)
		TH_LOG("the final completion must precede CANCEL's");
	at = a->f[0].off;

	/* One-shot RECVs go on from the next byte. */
	self->s.snd.sh->pause = 0;
	while (a->f[0].off < at + 256 * 1024) {
		struct pollfd pfd = { .fd = a->f[0].sock, .events = POLLIN };

		ASSERT_EQ(1, poll(&pfd, 1, 10000)) TH_LOG("nothing to read");
		AR_OK(ar_oneshot(a, 0, &final));
		ASSERT_LE(-EAGAIN, final);
	}
	TH_LOG("cancelled at %llu, one-shot RECVs to %llu",
	       (unsigned long long)at, (unsigned long long)a->f[0].off);

	/* Armed again, cancelled again, armed again to the end. */
	AR_ARM(0, 0);
	AR_OK(ar_run_to(a, 0, bytes / 2, 20000));
	self->s.snd.sh->pause = 1;
	AR_OK(ar_cancel(a, a->f[0].sock, 0, &res));
	EXPECT_EQ(1, res);
	EXPECT_EQ(-ECANCELED, a->f[0].final);
	ASSERT_LT(a->f[0].final_seq, a->cancel_seq);
	AR_ARM(0, 0);
	self->s.snd.sh->pause = 0;
	AR_OK(ar_run(a, done_final, 0, 20000));
	EXPECT_EQ(0, a->f[0].final) TH_LOG("%s", strerror(-a->f[0].final));
	EXPECT_TRUE(a->f[0].ended);
	EXPECT_EQ(bytes, a->f[0].off);
	ASSERT_EQ(0, nl_sender_wait(&self->s.snd, 30000));
	AR_OK(ar_cancel(a, a->f[0].sock, 0, &res));
	EXPECT_EQ(-ENOENT, res);
}

TEST_F_TIMEOUT(armed, cancel_all, 300)
{
	struct ar *a = &self->a;
	int cli[3], srv[3], res;

	for (int i = 0; i < 3; i++) {
		nt_lo_pair(LO_PORT + i, &cli[i], &srv[i]);
		a->f[i].sock = srv[i];
	}
	a->nf = 3;
	a->copied = 1;
	for (int i = 0; i < 3; i++) {
		AR_ARM(i, 0);
	}
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, nt_write_pattern(cli[i], i, 0, 200000 + i * 1000));
	}
	for (int i = 0; i < 3; i++) {
		AR_OK(ar_run_to(a, i, 200000 + i * 1000, 5000));
	}
	/* More on the way while F_ALL runs. */
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, nt_write_pattern(cli[i], i, 200000 + i * 1000, 20000));
	}

	AR_OK(ar_cancel(a, -1, UNIFIED_IO_CANCEL_F_ALL, &res));
	EXPECT_EQ(3, res);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(1U, a->f[i].finals) TH_LOG("flow %d", i);
		EXPECT_EQ(-ECANCELED, a->f[i].final) TH_LOG("flow %d", i);
		EXPECT_LT(a->f[i].final_seq, a->cancel_seq)
			TH_LOG("flow %d: its final after CANCEL's completion", i);
	}
	/* Armed again, each goes on from its next byte to the end. */
	for (int i = 0; i < 3; i++) {
		AR_ARM(i, 0);
	}
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, nt_write_pattern(cli[i], i, 220000 + i * 1000, 30000));
		ASSERT_EQ(0, shutdown(cli[i], SHUT_WR));
		a->f[i].expect = 250000 + i * 1000;
	}
	AR_OK(ar_run(a, done_all_ended, 0, 5000));
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(250000U + i * 1000, a->f[i].off);
		EXPECT_EQ(0, a->f[i].final);
	}
	AR_OK(ar_cancel(a, -1, UNIFIED_IO_CANCEL_F_ALL, &res));
	EXPECT_EQ(0, res) TH_LOG("F_ALL with every arm ended");
	for (int i = 0; i < 3; i++) {
		close(cli[i]);
		close(srv[i]);
	}
}

/* Post @n NOPs (the CQ must have room). */
static void __nops(struct __test_metadata *_metadata, struct nl_region *r, int n)
{
	struct unified_io_desc d = {};

	for (int i = 0; i < n; i++) {
		unio_prep_nop(&d, UD(K_NOP, 0, i));
		ASSERT_EQ(1, nl_submit_inline(r, &d)) TH_LOG("NOP %d", i);
	}
}

#define nops(r, n)	__nops(_metadata, r, n)

/* Re-arm after each -ENOSPC/-ENOBUFS until the peer's close. */
static int run_rearming(struct ar *a, int err, unsigned int *rearms)
{
	int ret;

	for (;;) {
		ret = ar_run(a, done_final, 0, 20000);
		if (ret)
			return ret;
		if (a->f[0].final == 0)
			return 0;
		if (a->f[0].final != -err) {
			snprintf(a->err, sizeof(a->err), "final %d (%s) at %llu",
				 a->f[0].final, strerror(-a->f[0].final),
				 (unsigned long long)a->f[0].off);
			return -EPROTO;
		}
		(*rearms)++;
		ret = ar_arm(a, 0, 0);
		if (ret != 1)
			return ret < 0 ? ret : -EPROTO;
	}
}

TEST_F_TIMEOUT(armed, cq_full, 300)
{
	struct nl_region small = { .fd = -1 };
	struct ar *a = &self->a;
	struct unified_io_info i0, i1;
	struct unified_io_desc d;
	uint64_t bytes = 512 * 1024;
	unsigned int rearms = 0;
	int cli, srv, ret, res;

	if (!nt_region_create(&small, 8, 8, BUF, 1024))
		return;
	ASSERT_EQ(8U, small.l.cq.ring_entries);
	ar_fini(a);
	ASSERT_EQ(0, ar_init(a, &small, 1, NULL, 0));
	a->copied = 1;

	/* Consumed only with two free slots. */
	nt_lo_pair(LO_PORT, &cli, &srv);
	a->f[0].sock = srv;
	nops(&small, 7);
	nt_info(&small, &i0);
	nl_prep_recv(&d, srv, OWNER, 0, ARM, UD(K_ARM, 0, 1));
	ret = nl_submit_inline(&small, &d);
	EXPECT_EQ(-EBUSY, ret) TH_LOG("arm with one free CQ slot: %d", ret);
	nt_info(&small, &i1);
	EXPECT_EQ(i0.stats.sqes, i1.stats.sqes);
	EXPECT_EQ(i0.stats.cq_full + 1, i1.stats.cq_full);
	EXPECT_EQ(7U, unio_cq_ready(&small.q));
	unio_cqe_seen(&small.q);
	a->f[0].gen = 1;
	a->f[0].ud = UD(K_ARM, 0, 1);
	ASSERT_EQ(1, nl_submit_inline(&small, &d)) TH_LOG("arm with two free slots");
	EXPECT_EQ(6U, unio_cq_ready(&small.q));
	/* It holds one: a NOP takes the other, the next finds none. */
	nops(&small, 1);
	unio_prep_nop(&d, UD(K_NOP, 1, 0));
	ret = nl_submit_inline(&small, &d);
	EXPECT_EQ(-EBUSY, ret) TH_LOG("NOP into the armed RECV's slot: %d", ret);
	EXPECT_EQ(7U, unio_cq_ready(&small.q));
	/* Data with no slot for a chunk: -ENOSPC in the held slot. */
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 10000));
	ret = nl_complete(&small, 8, 5 * SEC_NS);
	ASSERT_EQ(8, ret) TH_LOG("COMPLETE: %d", ret);
	ASSERT_LE(0, ar_reap(a)) TH_LOG("%s", a->err);
	EXPECT_EQ(-ENOSPC, a->f[0].final);
	EXPECT_EQ(0U, a->f[0].off);
	EXPECT_EQ(10000, nt_wait_inq(srv, 10000, 5000)) TH_LOG("ENOSPC took data");
	AR_OK(ar_cancel(a, srv, 0, &res));
	EXPECT_EQ(-ENOENT, res) TH_LOG("CANCEL after -ENOSPC");
	close(cli);
	close(srv);

	/* A stream into a CQ nobody reaps: 7 chunks, then -ENOSPC. */
	ar_fini(a);
	ASSERT_EQ(0, ar_init(a, &small, 1, NULL, bytes));
	a->copied = 1;
	xs_start(&self->s, -1, lo_addr(), LO_PORT + 1, 1, bytes, false);
	a->f[0].sock = self->s.socks[0];
	AR_ARM(0, 0);
	ret = nl_complete(&small, 8, 10 * SEC_NS);
	ASSERT_EQ(8, ret) TH_LOG("COMPLETE: %d", ret);
	for (int i = 0; i < 8; i++) {
		struct unified_io_cqe *c = &small.q.cq.cqes[(*small.q.cq.khead + i) &
							    small.q.cq.ring_mask];

		EXPECT_EQ(a->f[0].ud, c->user_data);
		if (i < 7) {
			EXPECT_NE(0U, c->flags & UNIFIED_IO_CQE_F_MORE) TH_LOG("cqe %d", i);
		}
	}
	ASSERT_EQ(8, ar_reap(a)) TH_LOG("%s", a->err);
	EXPECT_EQ(7U, a->f[0].chunks);
	EXPECT_EQ(-ENOSPC, a->f[0].final);
	EXPECT_LT(0, nt_inq(a->f[0].sock)) TH_LOG("the rest is on the socket");

	/* Reaped, re-armed after each ENOSPC: the stream ends exact. */
	AR_ARM(0, 0);
	AR_OK(run_rearming(a, ENOSPC, &rearms));
	EXPECT_EQ(bytes, a->f[0].off);
	EXPECT_TRUE(a->f[0].ended);
	ASSERT_EQ(0, nl_sender_wait(&self->s.snd, 30000));
	TH_LOG("%llu chunks, re-armed %u times after -ENOSPC",
	       (unsigned long long)a->chunks, rearms);
	ar_settle(a);
	all_free(&small);
	xs_stop(&self->s);
	nl_region_destroy(&small);
}

TEST_F_TIMEOUT(armed, no_buffers, 300)
{
	struct nl_region tiny = { .fd = -1 };
	struct ar *a = &self->a;
	struct unified_io_info info;
	uint64_t bytes = 256 * 1024;
	unsigned int rearms = 0;
	int ret;

	if (!nt_region_create(&tiny, 8, 64, BUF, 8))
		return;
	ar_fini(a);
	ASSERT_EQ(0, ar_init(a, &tiny, 1, NULL, bytes));
	a->copied = 1;
	a->hold = true;
	xs_start(&self->s, -1, lo_addr(), LO_PORT, 1, bytes, false);
	a->f[0].sock = self->s.socks[0];
	AR_ARM(0, 0);
	ret = nl_complete(&tiny, 9, 10 * SEC_NS);
	ASSERT_EQ(9, ret) TH_LOG("COMPLETE: %d", ret);
	ASSERT_EQ(9, ar_reap(a)) TH_LOG("%s", a->err);
	EXPECT_EQ(8U, a->f[0].chunks);
	EXPECT_EQ(-ENOBUFS, a->f[0].final);
	nt_info(&tiny, &info);
	EXPECT_EQ(0U, info.stats.bufs_free);
	EXPECT_EQ(8U, info.stats.bufs_app);
	EXPECT_LT(0, nt_inq(a->f[0].sock)) TH_LOG("the rest is on the socket");
	expect_quiet(&tiny, 200, "after -ENOBUFS");

	/* FREE, re-arm (again after each -ENOBUFS): the stream ends exact. */
	a->hold = false;
	AR_OK(ar_flush(a));
	AR_ARM(0, 0);
	AR_OK(run_rearming(a, ENOBUFS, &rearms));
	EXPECT_EQ(bytes, a->f[0].off);
	ASSERT_EQ(0, nl_sender_wait(&self->s.snd, 30000));
	TH_LOG("%llu chunks, re-armed %u times after -ENOBUFS",
	       (unsigned long long)a->chunks, rearms);
	ar_settle(a);
	all_free(&tiny);
	xs_stop(&self->s);
	nl_region_destroy(&tiny);
}

TEST_F_TIMEOUT(armed, four_flows, 600)
{
	struct ar *a = &self->a;
	struct unified_io_info info;
	uint64_t bytes = nt_volume(2 * NT_MIB, NT_MIB);

	xs_start(&self->s, self->p.ns_tx, self->p.rx_addr, PORT, 4, bytes, false);
	ar_fini(a);
	ASSERT_EQ(0, ar_init(a, &self->r, 4, self->s.socks, bytes));
	a->copied = 1;
	for (int i = 0; i < 4; i++) {
		AR_ARM(i, 0);
	}
	AR_OK(ar_run(a, done_all_final, 0, 20000));
	for (int i = 0; i < 4; i++) {
		EXPECT_EQ(0, a->f[i].final) TH_LOG("flow %d: %d", i, a->f[i].final);
		EXPECT_EQ(bytes, a->f[i].off) TH_LOG("flow %d", i);
		EXPECT_EQ(1U, a->f[i].finals);
	}
	EXPECT_LT(3U, a->switches) TH_LOG("completions of the flows not interleaved");
	ASSERT_EQ(0, nl_sender_wait(&self->s.snd, 30000));
	nt_info(&self->r, &info);
	EXPECT_EQ(4U, info.stats.ops[UNIFIED_IO_OP_RECV]);
	EXPECT_EQ(4 * bytes, info.net.recv_bytes);
	TH_LOG("%llu chunks, %llu flow switches", (unsigned long long)a->chunks,
	       (unsigned long long)a->switches);
	ar_settle(a);
	all_free(&self->r);
}

TEST_F_TIMEOUT(armed, close_fd, 300)
{
	struct nl_region x = { .fd = -1 };
	struct ar *a = &self->a;
	struct ar ax;
	int cli, srv, cli2, srv2, cli3, srv3, res, base, n, srv_nr;

	a->copied = 1;
	a->nf = 2;
	/* Closing the fd does not stop the arm: the peer's close does. */
	nt_lo_pair(LO_PORT, &cli, &srv);
	a->f[0].sock = srv;
	AR_ARM(0, 0);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 10000));
	AR_OK(ar_run_to(a, 0, 10000, 5000));
	srv_nr = srv;
	close(srv);
	a->f[0].sock = -1;
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 10000, 200000));
	AR_OK(ar_run_to(a, 0, 210000, 5000));
	EXPECT_EQ(0U, a->f[0].finals);
	AR_OK(ar_cancel(a, srv_nr, 0, &res));
	EXPECT_EQ(-EBADF, res) TH_LOG("CANCEL needs the socket's fd");
	ASSERT_EQ(0, shutdown(cli, SHUT_WR));
	AR_OK(ar_run(a, done_final, 0, 5000));
	EXPECT_EQ(0, a->f[0].final);
	EXPECT_EQ(210000U, a->f[0].off);
	EXPECT_TRUE(peer_sees_end(cli, 5000)) TH_LOG("the socket outlived its arm");
	close(cli);

	/* CANCEL F_ALL stops an arm whose fd is closed. */
	nt_lo_pair(LO_PORT + 1, &cli2, &srv2);
	a->f[1].sock = srv2;
	AR_ARM(1, 0);
	close(srv2);
	a->f[1].sock = -1;
	ASSERT_EQ(0, nt_write_pattern(cli2, 1, 0, 5000));
	AR_OK(ar_run_to(a, 1, 5000, 5000));
	AR_OK(ar_cancel(a, -1, UNIFIED_IO_CANCEL_F_ALL, &res));
	EXPECT_EQ(1, res);
	EXPECT_EQ(-ECANCELED, a->f[1].final);
	EXPECT_LT(a->f[1].final_seq, a->cancel_seq);
	EXPECT_TRUE(peer_sees_end(cli2, 5000)) TH_LOG("the socket outlived its arm");
	close(cli2);

	/* Releasing the region stops an arm; the socket goes with it. */
	base = nl_module_refcnt("unified_io");
	ASSERT_LT(0, base);
	if (!nt_region_create(&x, SQ, 64, BUF, 64))
		return;
	EXPECT_LT(base, nl_module_refcnt("unified_io"));
	ASSERT_EQ(0, ar_init(&ax, &x, 1, NULL, 0));
	nt_lo_pair(LO_PORT + 2, &cli3, &srv3);
	ax.f[0].sock = srv3;
	ax.copied = 1;
	ASSERT_EQ(1, ar_arm(&ax, 0, 0)) TH_LOG("%s", ax.err);
	ASSERT_EQ(0, nt_write_pattern(cli3, 0, 0, 5000));
	ASSERT_EQ(0, ar_run_to(&ax, 0, 5000, 5000)) TH_LOG("%s", ax.err);
	close(srv3);
	ar_fini(&ax);
	nl_region_destroy(&x);
	EXPECT_TRUE(peer_sees_end(cli3, 10000))
		TH_LOG("the socket outlived its region's release");
	n = refcnt_back(base, 10000);
	EXPECT_EQ(base, n) TH_LOG("module refcount after the release");
	close(cli3);
}

TEST_F_TIMEOUT(armed, region_release, 300)
{
	struct nl_region x = { .fd = -1 };
	struct ar ax;
	uint64_t bytes = nt_volume(8 * NT_MIB, 4 * NT_MIB);
	int base, n;

	base = nl_module_refcnt("unified_io");
	ASSERT_LT(0, base);
	xs_start(&self->s, self->p.ns_tx, self->p.rx_addr, PORT, 3, bytes, false);
	if (!nt_region_create(&x, SQ, CQ, BUF, 4096))
		return;
	ASSERT_EQ(0, ar_init(&ax, &x, 3, self->s.socks, bytes));
	ax.copied = 1;
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(1, ar_arm(&ax, i, 0)) TH_LOG("%s", ax.err);
	}
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, ar_run_to(&ax, i, 256 * 1024, 20000)) TH_LOG("%s", ax.err);
	}
	/*
	 * Released with three arms live and data in flight; the sender stops
	 * writing (without closing), so that no stream ends before the
	 * CANCEL below.
	 */
	self->s.snd.sh->pause = 1;
	munmap(x.map, x.map_len);
	x.map = NULL;
	close(x.fd);
	x.fd = -1;
	ar_fini(&ax);
	n = refcnt_back(base, 10000);
	EXPECT_EQ(base, n) TH_LOG("module refcount after the release");

	/* The sockets are free to be armed on another region. */
	/*
	 * Where each stream goes on is not known (the last chunks went to the
	 * released region), so only the arms are checked here: armed, and
	 * then CANCEL F_ALL stops all three.
	 */
	/*
	 * The released region's arms may have taken a whole stream, FIN
	 * included, before the release: such a socket's new arm ends at once
	 * with 0, and CANCEL finds one arm fewer.
	 */
	int live = 3;

	for (int i = 0; i < 3; i++) {
		struct unified_io_desc d;
		struct unified_io_cqe *c;

		nl_prep_recv(&d, self->s.socks[i], OWNER, 0, ARM, UD(K_BAD, i, 0));
		ASSERT_EQ(1, nl_submit_inline(&self->r, &d));
		while ((c = unio_peek_cqe(&self->r.q))) {
			EXPECT_EQ(K_BAD, UD_KIND(c->user_data));
			if (!(c->flags & UNIFIED_IO_CQE_F_MORE)) {
				EXPECT_EQ(0, c->res) TH_LOG("arm after the release: %d", c->res);
				live--;
			} else {
				EXPECT_LT(0, c->res) TH_LOG("arm after the release: %d", c->res);
			}
			unio_cqe_seen(&self->r.q);
		}
	}
	{
		struct unified_io_desc d = {
			.opcode = UNIFIED_IO_OP_CANCEL,
			.user_data = UD(K_CANCEL, 0, 1),
		};
		struct unified_io_cqe *c;
		uint64_t end = nl_now_ms() + 10000;
		int finals = 0, res = -1;

		d.net.fd = -1;
		d.net.flags = UNIFIED_IO_CANCEL_F_ALL;
		ASSERT_EQ(1, nl_submit_inline(&self->r, &d));
		while (res < 0 && nl_now_ms() < end) {
			c = unio_peek_cqe(&self->r.q);
			if (!c) {
				nl_complete(&self->r, 1, 100000000ULL);
				continue;
			}
			if (c->user_data == d.user_data) {
				res = c->res;
			} else if (!(c->flags & UNIFIED_IO_CQE_F_MORE)) {
				EXPECT_EQ(-ECANCELED, c->res);
				finals++;
			}
			unio_cqe_seen(&self->r.q);
		}
		EXPECT_EQ(live, res);
		EXPECT_EQ(live, finals);
	}
}

/*
 * The region's release racing the arms' work: a peer process writes to and
 * then closes (FIN) 16 sockets armed on a region, and the region is
 * released while the work item is taking their data, with wake-ups (data,
 * FIN) arriving all the while. The work may be running, or waiting for the
 * region's lock, when the release takes the arms off their sockets' wait
 * queues; it must then not touch them (a second remove_wait_queue() is a
 * list corruption). 40 rounds, released at a different point each time;
 * the guest's kernel log must stay clean (tools/vm/run) and the module's
 * refcount come back.
 */
#define RACE_SOCKS	16
#define RACE_ROUNDS	40
#define RACE_BYTES	(256 * 1024)

static int race_peer(int *cli, int go)
{
	char c;

	signal(SIGPIPE, SIG_IGN);
	if (read(go, &c, 1) != 1)
		return 1;
	for (int i = 0; i < RACE_SOCKS; i++) {
		int fl = fcntl(cli[i], F_GETFL);

		fcntl(cli[i], F_SETFL, fl | O_NONBLOCK);
		/* As much as goes without blocking: the arms may be gone. */
		for (uint64_t off = 0; off < RACE_BYTES; ) {
			uint8_t buf[16384];
			ssize_t w;

			nl_pattern_fill(i, off, buf, sizeof(buf));
			w = write(cli[i], buf, sizeof(buf));
			if (w <= 0)
				break;
			off += w;
		}
	}
	for (int i = 0; i < RACE_SOCKS; i++)
		close(cli[i]);
	return 0;
}

TEST_F_TIMEOUT(armed, release_race, 600)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(LO_PORT + 20),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	/* 10 rounds on the debug kernel: each costs seconds there. */
	int rounds = nt_volume(RACE_ROUNDS, 10), base, ls, n;
	uint64_t posted = 0;

	base = nl_module_refcnt("unified_io");
	ASSERT_LT(0, base);
	ls = nl_listen(sin.sin_addr, LO_PORT + 20);
	ASSERT_LE(0, ls);
	for (int round = 0; round < rounds; round++) {
		struct nl_region x = { .fd = -1 };
		int cli[RACE_SOCKS], srv[RACE_SOCKS], go[2], status;
		uint32_t want = 1 + round * 37 % 200, tail0;
		uint64_t end;
		pid_t pid;

		for (int i = 0; i < RACE_SOCKS; i++) {
			cli[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			ASSERT_LE(0, cli[i]);
			ASSERT_EQ(0, connect(cli[i], (struct sockaddr *)&sin, sizeof(sin)));
			srv[i] = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			ASSERT_LE(0, srv[i]);
		}
		if (!nt_region_create(&x, 8, 8192, BUF, 2048))
			return;
		for (int i = 0; i < RACE_SOCKS; i++) {
			struct unified_io_desc d;

			nl_prep_recv(&d, srv[i], OWNER, 0, ARM, UD(K_ARM, i, 1));
			ASSERT_EQ(1, nl_submit_inline(&x, &d));
		}
		tail0 = unio_smp_load_acquire(x.q.cq.ktail);
		ASSERT_EQ(0, pipe(go));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			close(go[1]);
			_exit(race_peer(cli, go[0]));
		}
		close(go[0]);
		for (int i = 0; i < RACE_SOCKS; i++)
			close(cli[i]);
		ASSERT_EQ(1, write(go[1], "g", 1));
		close(go[1]);
		/* Released after @want completions (or 2 s): mid-flight. */
		end = nl_now_ms() + 2000;
		while (unio_smp_load_acquire(x.q.cq.ktail) - tail0 < want &&
		       nl_now_ms() < end)
			sched_yield();	/* one vCPU: the peer and the work run */
		posted += unio_smp_load_acquire(x.q.cq.ktail) - tail0;
		for (int i = 0; i < RACE_SOCKS; i++)
			close(srv[i]);
		nl_region_destroy(&x);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("peer status %#x", status);
	}
	close(ls);
	n = refcnt_back(base, 10000);
	EXPECT_EQ(base, n) TH_LOG("module refcount after %d releases", rounds);
	TH_LOG("%d rounds, %llu completions before the releases", rounds,
	       (unsigned long long)posted);
}

/* The child's side of forked_child: arm on its own region, exit. */
struct child_arg {
	int sock;
	uint64_t want;
	volatile uint64_t *got;
	struct nl_region *r;	/* the parent's region (shared by fork) */
};

static int child_own_region(void *p)
{
	struct child_arg *c = p;
	struct nl_region r;
	struct ar a;

	if (nl_region_create(&r, 8, 256, BUF, 128))
		return 10;
	if (ar_init(&a, &r, 1, NULL, 0))
		return 11;
	a.f[0].sock = c->sock;
	a.copied = 1;
	a.hold = true;
	if (ar_arm(&a, 0, 0) != 1)
		return 12;
	if (ar_run_to(&a, 0, c->want, 5000))
		return 13;
	*c->got = a.f[0].off;
	/* Exit with the arm live, the region mapped, nothing cleaned up. */
	return 0;
}

static int child_shared_region(void *p)
{
	struct child_arg *c = p;
	struct unified_io_desc d;

	nl_prep_recv(&d, c->sock, OWNER, 0, ARM, UD(K_ARM, 0, 77));
	return nl_submit_inline(c->r, &d) == 1 ? 0 : 20;
}

TEST_F_TIMEOUT(armed, forked_child, 300)
{
	struct ar *a = &self->a;
	volatile uint64_t *got;
	struct child_arg ca;
	int cli, srv, base, n, status, res;

	got = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, got);
	base = nl_module_refcnt("unified_io");
	ASSERT_LT(0, base);
	nt_lo_pair(LO_PORT, &cli, &srv);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 64 * 1024));
	ASSERT_EQ(64 * 1024, nt_wait_inq(srv, 64 * 1024, 5000));
	ca = (struct child_arg){ .sock = srv, .want = 64 * 1024, .got = got };
	status = ut_in_child(child_own_region, &ca);
	ASSERT_EQ(0, status) TH_LOG("child with its own region");
	EXPECT_EQ(64U * 1024, *got);
	n = refcnt_back(base, 10000);
	EXPECT_EQ(base, n) TH_LOG("module refcount after the child's exit");

	/* The parent's arm goes on from the child's last byte. */
	a->f[0].sock = srv;
	a->f[0].off = *got;
	a->copied = 1;
	ASSERT_EQ(0, nt_write_pattern(cli, 0, *got, 40000));
	AR_ARM(0, 0);
	AR_OK(ar_run_to(a, 0, *got + 40000, 5000));

	/* A child arms on the parent's region (shared by fork) and exits. */
	AR_OK(ar_cancel(a, srv, 0, &res));
	ASSERT_EQ(1, res);
	ca.r = &self->r;
	status = ut_in_child(child_shared_region, &ca);
	ASSERT_EQ(0, status) TH_LOG("child on the shared region");
	a->f[0].gen = 77;
	a->f[0].ud = UD(K_ARM, 0, 77);
	a->f[0].oneshot = false;
	a->f[0].since = 0;
	ASSERT_EQ(0, nt_write_pattern(cli, 0, a->f[0].off, 30000));
	AR_OK(ar_run_to(a, 0, *got + 70000, 5000));
	AR_OK(ar_cancel(a, srv, 0, &res));
	EXPECT_EQ(1, res) TH_LOG("CANCEL of the arm the child left");
	EXPECT_EQ(-ECANCELED, a->f[0].final);
	munmap((void *)got, 4096);
	close(cli);
	close(srv);
}

/* AES-GCM-128 with fixed parameters on @fd, direction @dir (net_recv.c's). */
static int tls_on(int fd, int dir)
{
	struct tls12_crypto_info_aes_gcm_128 ci;

	memset(&ci, 0, sizeof(ci));
	ci.info.version = TLS_1_2_VERSION;
	ci.info.cipher_type = TLS_CIPHER_AES_GCM_128;
	memset(ci.key, 0x4b, sizeof(ci.key));
	memset(ci.iv, 0x17, sizeof(ci.iv));
	memset(ci.salt, 0x5a, sizeof(ci.salt));
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")))
		return -errno;
	if (setsockopt(fd, SOL_TLS, dir, &ci, sizeof(ci)))
		return -errno;
	return 0;
}

/*
 * kTLS installed on a socket while it is armed: the arm took the plain
 * bytes before; the first wake after the install stops it with
 * -EPROTONOSUPPORT without taking anything, and kTLS decrypts the record.
 */
TEST_F_TIMEOUT(armed, ktls_while_armed, 120)
{
	struct ar *a = &self->a;
	char plain[1000], got[1000];
	int cli, srv, ret, res;

	nt_lo_pair(LO_PORT, &cli, &srv);
	a->f[0].sock = srv;
	a->copied = 1;
	AR_ARM(0, 0);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 3000));
	AR_OK(ar_run_to(a, 0, 3000, 5000));
	ret = tls_on(cli, TLS_TX);
	if (ret == -ENOENT) {
		close(cli);
		close(srv);
		SKIP(return, "no kTLS in this kernel (TCP_ULP \"tls\": ENOENT)");
	}
	ASSERT_EQ(0, ret) TH_LOG("kTLS TX: %s", strerror(-ret));
	ASSERT_EQ(0, tls_on(srv, TLS_RX)) TH_LOG("kTLS RX on an armed socket");
	nl_pattern_fill(0, 3000, plain, sizeof(plain));
	ASSERT_EQ((ssize_t)sizeof(plain), write(cli, plain, sizeof(plain)));
	AR_OK(ar_run(a, done_final, 0, 5000));
	EXPECT_EQ(-EPROTONOSUPPORT, a->f[0].final)
		TH_LOG("final %d once kTLS owns the socket", a->f[0].final);
	EXPECT_EQ(3000U, a->f[0].off) TH_LOG("the arm took bytes of the record");
	EXPECT_EQ((ssize_t)sizeof(got), recv(srv, got, sizeof(got), 0))
		TH_LOG("kTLS recv: %s", strerror(errno));
	EXPECT_EQ(0, memcmp(plain, got, sizeof(got)));
	/* Arming it again is refused at once. */
	AR_ARM(0, 0);
	ASSERT_LE(0, ar_reap(a)) TH_LOG("%s", a->err);
	EXPECT_EQ(-EPROTONOSUPPORT, a->f[0].final);
	EXPECT_EQ(2U, a->f[0].finals);
	AR_OK(ar_cancel(a, -1, UNIFIED_IO_CANCEL_F_ALL, &res));
	EXPECT_EQ(0, res);
	close(cli);
	close(srv);
}

static int chain_ioctl(int fd, unsigned long cmd, int prog_fd)
{
	struct unified_io_bpf b = {
		.size = sizeof(b),
		.prog_fd = prog_fd,
	};

	return ioctl(fd, cmd, &b) ? -errno : 0;
}

TEST_F_TIMEOUT(armed, bpf, 300)
{
	struct ar *a = &self->a;
	struct unified_io_info info;
	struct unified_io_desc d;
	struct unified_io_cqe c;
	uint64_t bytes = nt_volume(2 * NT_MIB, NT_MIB);
	int fd, cli, srv;

	if (access("/sys/kernel/btf/vmlinux", R_OK))
		SKIP(return, "kernel without BTF (the debug kernel has no debug info)");
	self->skel = ut_net_bpf__open_and_load();
	ASSERT_NE(NULL, self->skel) TH_LOG("loading progs/ut_net.bpf.c: %s",
					   strerror(errno));
	fd = bpf_program__fd(self->skel->progs.ut_net_xor);

	/* No chain: refused at SUBMIT. */
	nt_lo_pair(LO_PORT + 5, &cli, &srv);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 1000));
	ASSERT_EQ(1000, nt_wait_inq(srv, 1000, 5000));
	nl_prep_recv(&d, srv, OWNER, 0, ARM_BPF, UD(K_BAD, 0, 0));
	EXPECT_EQ(-ENOENT, submit_one(&self->r, &d, &c));
	EXPECT_EQ(1000, nt_inq(srv));
	close(cli);
	close(srv);

	ASSERT_EQ(0, chain_ioctl(self->r.fd, UNIFIED_IO_ATTACH_BPF, fd));
	xs_start(&self->s, -1, lo_addr(), LO_PORT, 1, bytes, false);
	a->f[0].sock = self->s.socks[0];
	a->f[0].expect = bytes;
	a->copied = 1;
	a->xor = XOR;
	AR_ARM(0, UNIFIED_IO_RECV_F_BPF);
	AR_OK(ar_run(a, done_final, 0, 20000));
	EXPECT_EQ(0, a->f[0].final);
	EXPECT_EQ(bytes, a->f[0].off);
	ASSERT_EQ(0, nl_sender_wait(&self->s.snd, 30000));
	/* Every copy starts a buffer: the program ran over every chunk. */
	EXPECT_EQ(a->chunks, self->skel->bss->xor_runs);
	EXPECT_EQ(bytes, self->skel->bss->xor_bytes);
	nt_info(&self->r, &info);
	EXPECT_EQ(1U, info.nr_bpf_progs);
	EXPECT_EQ(a->chunks, info.bpf_progs[0].runs);
	EXPECT_EQ(a->chunks, info.bpf_progs[0].pass);
	EXPECT_EQ(0U, info.net.bpf_drops);
}

/* --- zero copy: the region as the test NIC queue's provider --------------- */

#define ZC_NBUFS	2048
#define ZC_LENT		1024
#define ZC_CQ		8192

FIXTURE(zc) {
	struct nl_pair p;
	struct nl_region r;
	struct xs s;
	struct ar a;
};

FIXTURE_SETUP(zc)
{
	self->r.fd = -1;
	xs_init(&self->s);
	REQUIRE_ARM();
	NT_REQUIRE_PROVIDER();
	if (!nt_pair_create(&self->p, "unionic"))
		return;
	if (!nt_region_create(&self->r, 8, ZC_CQ, BUF, ZC_NBUFS))
		return;
	ASSERT_EQ(0, nl_steer(&self->p, PORT, NT_ZC_QUEUE)) TH_LOG("%s", self->p.err);
	ASSERT_EQ(0, ar_init(&self->a, &self->r, 1, NULL, 0));
}

FIXTURE_TEARDOWN(zc)
{
	xs_stop(&self->s);
	ar_fini(&self->a);
	nl_region_destroy(&self->r);
	nl_pair_destroy(&self->p);
}

TEST_F_TIMEOUT(zc, stream, 900)
{
	struct ar *a = &self->a;
	struct unified_io_info i0, i1;
	/* A quarter on the debug kernel, where 32 MiB take 4 minutes. */
	uint64_t bytes = nt_volume(32 * NT_MIB, 8 * NT_MIB), t0;
	int rcvbuf = NT_RCVBUF(ZC_LENT);
	int lsock, ret;
	struct nl_sender_opts o = {
		.nsfd = self->p.ns_tx,
		.dst = self->p.rx_addr,
		.dport = PORT,
		.nr_flows = 1,
		.bytes = bytes,
	};

	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, ZC_LENT);
	lsock = nl_listen_rcvbuf(self->p.rx_addr, PORT, rcvbuf);
	ASSERT_LE(0, lsock);
	self->s.lsock = lsock;
	self->s.nf = 1;
	ASSERT_EQ(0, nl_sender_start(&self->s.snd, &o));
	ASSERT_EQ(0, nl_accept_flows(lsock, 1, self->s.socks, 30000));
	a->f[0].sock = self->s.socks[0];
	a->f[0].expect = bytes;
	a->copied = 0;
	a->refill = true;
	t0 = nl_now_ms();
	AR_ARM(0, 0);
	nt_info(&self->r, &i0);
	ret = ar_spin(a, done_final, 0, 600000);
	nt_info(&self->r, &i1);
	ASSERT_EQ(0, ret) TH_LOG("%s", a->err);
	TH_LOG("%llu MiB zero-copy in %llu chunks, %llu ms, %llu refills",
	       (unsigned long long)(a->bytes / NT_MIB), (unsigned long long)a->chunks,
	       (unsigned long long)(nl_now_ms() - t0), (unsigned long long)a->refills);
	EXPECT_EQ(0, a->f[0].final) TH_LOG("%s", strerror(-a->f[0].final));
	EXPECT_EQ(bytes, a->f[0].off);
	EXPECT_EQ(0U, a->copied_chunks);
	ASSERT_EQ(0, nl_sender_wait(&self->s.snd, 30000));
	/* No SUBMIT, no COMPLETE between the arm and its final completion. */
	EXPECT_EQ(i0.stats.submit_calls, i1.stats.submit_calls);
	EXPECT_EQ(i0.stats.sqes, i1.stats.sqes);
	EXPECT_EQ(i0.stats.waits, i1.stats.waits);
	EXPECT_EQ(1U, i1.stats.ops[UNIFIED_IO_OP_RECV]);
	EXPECT_EQ(bytes, i1.net.recv_bytes);
	EXPECT_EQ(bytes, i1.net.zc_bytes);
	EXPECT_EQ(0U, i1.net.copy_bytes);
	EXPECT_EQ(a->chunks, i1.net.zc_chunks);
	EXPECT_EQ(a->refills, i1.net.refills + nl_refill_pending(&self->r));
	EXPECT_LT(0U, i1.net.refills);
	EXPECT_EQ(0U, i1.net.refill_bad_addr + i1.net.refill_not_held);
	EXPECT_EQ((__u32)ZC_LENT, i1.net.bufs_app + i1.net.bufs_nic);
}

/* liburing 2.15's own copy of the uapi header does not have it yet. */
#ifndef IORING_URING_CMD_MULTISHOT
#define IORING_URING_CMD_MULTISHOT	(1U << 1)
#endif

#define UZ_BGID		9
#define UZ_PBUFS	16
#define UZ_CQ		4
#define UZ_BYTES	(32 << 10)

/* A connected TCP pair over lo; @rcv non-blocking. */
static int uz_pair(int *snd, int *rcv)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t sl = sizeof(sin);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	*snd = *rcv = -1;
	if (ls < 0)
		return -errno;
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) || listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&sin, &sl))
		goto fail;
	*snd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*snd < 0 || connect(*snd, (struct sockaddr *)&sin, sizeof(sin)))
		goto fail;
	*rcv = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (*rcv < 0)
		goto fail;
	close(ls);
	return 0;
fail:
	ret = -errno;
	if (*snd >= 0)
		close(*snd);
	*snd = -1;
	close(ls);
	return ret;
}

/*
 * An armed RECV on io_uring over a bound region, whose copies come from
 * the buffers lent to the binding: the records a full io_uring CQ parks
 * hold lent buffers, and a CANCEL of the parked RECV gives them back, so
 * that once unbound the region can be bound again (BIND is EBUSY while a
 * buffer of the last binding is out).
 */
TEST_F_TIMEOUT(zc, uring_cancel_parked_bound, 300)
{
	static struct unified_io_cqe pbuf[UZ_PBUFS];
	static __u8 data[UZ_BYTES];
	struct io_uring_params p = {
		.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQE32 |
			 IORING_SETUP_CQSIZE,
		.cq_entries = UZ_CQ,
	};
	struct unified_io_uring_cmd cmd = {};
	struct unified_io_desc d = {};
	struct unified_io_cqe c;
	struct unified_io_info info;
	struct io_uring_buf_ring *br;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	int snd, rcv, ret, queued = 0, final = 1, posted = 0;
	char msg[64];
	__u64 end;

	if (!(nt_features() & UNIFIED_IO_FEAT_URING_CMD))
		SKIP(return, "no UNIFIED_IO_FEAT_URING_CMD");
	ret = io_uring_queue_init_params(UZ_CQ, &ring, &p);
	if (ret == -EPERM || ret == -ENOSYS)
		SKIP(return, "io_uring unavailable: %s", strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("io_uring_queue_init_params: %s", strerror(-ret));
	br = io_uring_setup_buf_ring(&ring, UZ_PBUFS, UZ_BGID, 0, &ret);
	ASSERT_NE(NULL, br) TH_LOG("provided buffer ring: %s", strerror(-ret));
	for (int i = 0; i < UZ_PBUFS; i++)
		io_uring_buf_ring_add(br, &pbuf[i], sizeof(pbuf[i]), i,
				      io_uring_buf_ring_mask(UZ_PBUFS), i);
	io_uring_buf_ring_advance(br, UZ_PBUFS);

	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, ZC_LENT);
	ASSERT_EQ(0, nl_lo_up());
	ASSERT_EQ(0, uz_pair(&snd, &rcv));
	memset(data, 0x5a, sizeof(data));
	ASSERT_EQ((ssize_t)sizeof(data), send(snd, data, sizeof(data), 0));
	end = nl_now_ms() + 10000;
	while (queued < UZ_BYTES && nl_now_ms() < end) {
		ASSERT_EQ(0, ioctl(rcv, FIONREAD, &queued));
		usleep(1000);
	}
	ASSERT_EQ(UZ_BYTES, queued);

	/* One record per provided buffer: the 4-entry CQ fills, ENOSPC. */
	unio_prep_recv(&d, rcv, OWNER, 0, ARM, UD(K_ARM, 0, 1));
	cmd.desc = d;
	sqe = io_uring_get_sqe(&ring);
	ASSERT_NE(NULL, sqe);
	memset(sqe, 0, 2 * sizeof(*sqe));
	io_uring_prep_uring_cmd(sqe, UNIFIED_IO_URING_CMD_DESC, self->r.fd);
	/* SQE128: the command area runs into the SQE's second half. */
	memcpy(sqe->cmd, &cmd, ring.flags & IORING_SETUP_SQE128 ?
	       sizeof(cmd) : sizeof(sqe->addr3) + sizeof(sqe->__pad2));
	sqe->uring_cmd_flags = IORING_URING_CMD_MULTISHOT;
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = UZ_BGID;
	sqe->user_data = 1;
	ASSERT_EQ(1, io_uring_submit(&ring));
	while (final > 0) {
		struct __kernel_timespec ts = { .tv_sec = 10 };
		struct unified_io_desc f = {};
		unsigned int bid;

		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		if (!(cqe->flags & IORING_CQE_F_MORE)) {
			final = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
			break;
		}
		bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		ASSERT_GT((unsigned int)UZ_PBUFS, bid);
		ASSERT_EQ((int)sizeof(c), cqe->res);
		memcpy(&c, &pbuf[bid], sizeof(c));
		io_uring_cqe_seen(&ring, cqe);
		/* A buffer lent to the binding, given back with FREE. */
		ASSERT_LT(0, c.res);
		ASSERT_EQ(UNIFIED_IO_BUF_APP, self->r.bt[c.addr / BUF].state);
		unio_prep_free(&f, OWNER, c.addr & ~(__u64)(BUF - 1),
			       UD(K_FREE, 0, posted));
		EXPECT_EQ(0, submit_one(&self->r, &f, &c));
		posted++;
	}
	ASSERT_EQ(-ENOSPC, final);
	EXPECT_EQ(UZ_CQ, posted);
	nt_info(&self->r, &info);
	EXPECT_EQ(1U, info.net.bufs_app) TH_LOG("the parked record's buffer");

	/* CANCEL drops the parked record: its buffer goes back. */
	unio_prep_cancel(&d, rcv, UD(K_CANCEL, 0, 1));
	EXPECT_EQ(1, submit_one(&self->r, &d, &c));
	nt_info(&self->r, &info);
	EXPECT_EQ(0U, info.net.bufs_app);

	/* Unbound, every buffer comes home: BIND again works. */
	ASSERT_EQ(0, nl_unbind(&self->r, msg)) TH_LOG("%.64s", msg);
	end = nl_now_ms() + 20000;
	do {
		ret = nl_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE,
			      ZC_LENT, msg);
		if (ret != -EBUSY)
			break;
		usleep(100000);
	} while (nl_now_ms() < end);
	EXPECT_EQ(0, ret) TH_LOG("BIND after UNBIND: %s (%.64s)",
				 strerror(-ret), msg);
	close(snd);
	close(rcv);
	io_uring_free_buf_ring(&ring, br, UZ_PBUFS, UZ_BGID);
	io_uring_queue_exit(&ring);
}

TEST_HARNESS_MAIN

