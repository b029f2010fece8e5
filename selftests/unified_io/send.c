// SPDX-License-Identifier: GPL-2.0
/*
 * UNIFIED_IO_OP_SEND: region buffers sent on TCP sockets without a copy, its
 * two completions (the result, then the notification once the stack let go
 * of the bytes), the buffer's SENDING state, and every documented refusal.
 * Raw ioctl/mmap ABI (ut.h), sockets and namespaces from net_test.h.
 *
 *  sabi.*		one test per errno of the SEND list of the uapi
 *			header: the completion's errno, through the SQ and
 *			inline, and nothing changed (buffer table, counters,
 *			send counters, no byte on the peer, no notification
 *			later); the CQ rule (two free slots, SUBMIT EBUSY
 *			inline and nothing consumed from the SQ); the
 *			socket's state: EPIPE (or ENOTCONN) for a socket
 *			never connected or listening, EPIPE after SHUT_WR,
 *			ECONNRESET then EPIPE after the peer's reset
 *  sabi.info_send_tail	GET_INFO's send counters, written for the size asked
 *  cq_of_one_entry_einval
 *			a CQ of one entry has no slot for a notification:
 *			SEND is EINVAL there
 *  exdev_lent_buffer	(NET_PROVIDER only) SEND of a buffer RECV handed over
 *			from a bound queue of the test NIC is EXDEV
 *  sdata.*		streams over lo, veth between two namespaces and the
 *			test NIC pair: every byte checked at the receiver,
 *			completions (res, F_MORE) and notifications (F_NOTIF,
 *			F_COPIED for local delivery, none over the NIC; same
 *			user_data, addr, res), GET_INFO's send counters
 *  inflight.*		sends kept in flight by a peer that does not read:
 *			SENDING with refs 1 + sends, FREE/BPF/SEND|F_BPF
 *			EBUSY, ALLOC never hands the buffer out, a partial
 *			send then EAGAIN, the CQ slots reserved for
 *			notifications, ETOOMANYREFS at 254 sends in flight;
 *			everything back to APP once the peer has read
 *  slife.*		the region closed and unmapped, the socket closed, a
 *			child exiting, each with sends in flight: the peer
 *			still reads every byte intact and the module's
 *			reference count comes back
 *  sbpf.*		UNIFIED_IO_SEND_F_BPF with progs/ut_send.bpf.c: the
 *			peer reads the transformed bytes, XDP_DROP sends
 *			nothing (res 0, F_BPF_DROP, no notification), a
 *			shortened buffer shortens the send; no program runs
 *			for a SEND that cannot send (EPIPE, EAGAIN, EBUSY)
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <sys/un.h>

#include "net_test.h"
#include "ut_send.skel.h"

#define OWNER		0x5e
#define OTHER		0x5f
#define UD(n)		(0x5e0d000000000000ULL | (__u64)(n))
#define BOOK_MAX	4096
#define SEED_PREFIX	0x11
#define SEED_STREAM	0x22

#define F_MORE		((__u32)UNIFIED_IO_CQE_F_MORE)
#define F_NOTIF		((__u32)UNIFIED_IO_CQE_F_NOTIF)
#define F_COPIED	((__u32)UNIFIED_IO_CQE_F_COPIED)
#define F_BPF_DROP	((__u32)UNIFIED_IO_CQE_F_BPF_DROP)
#define F_BPF_RAN	((__u32)UNIFIED_IO_CQE_F_BPF_RAN)

/* --- completions ----------------------------------------------------------- */

/*
 * Completions taken off the CQ and not yet claimed by a check: a SEND's
 * notification may be posted before SUBMIT returns (loopback delivers and
 * acknowledges in the sender's softirq), so the CQ is emptied into this
 * book and the checks pick what they wait for by user_data and kind.
 */
static struct {
	unsigned int n, lost;
	struct unified_io_cqe c[BOOK_MAX];
} bk;

static void book_pull(struct unio_queue *q)
{
	struct unified_io_cqe *c;

	while ((c = unio_peek_cqe(q))) {
		if (bk.n < BOOK_MAX)
			bk.c[bk.n++] = *c;
		else
			bk.lost++;
		unio_cqe_seen(q);
	}
}

/* Claim the completion of @ud (@notif: its notification) from the book. */
static bool book_take(__u64 ud, bool notif, struct unified_io_cqe *out)
{
	for (unsigned int i = 0; i < bk.n; i++) {
		if (bk.c[i].user_data != ud ||
		    !!(bk.c[i].flags & F_NOTIF) != notif)
			continue;
		*out = bk.c[i];
		memmove(&bk.c[i], &bk.c[i + 1], (bk.n - i - 1) * sizeof(bk.c[0]));
		bk.n--;
		return true;
	}
	return false;
}

static bool book_wait(struct ut_region *r, __u64 ud, bool notif,
		      int timeout_ms, struct unified_io_cqe *out)
{
	uint64_t end = nl_now_ms() + timeout_ms;

	for (;;) {
		book_pull(&r->q);
		if (book_take(ud, notif, out))
			return true;
		if (nl_now_ms() > end)
			return false;
		ut_complete(r->fd, 1, 20 * 1000000ULL, NULL);
	}
}

static void book_log(struct __test_metadata *_metadata)
{
	for (unsigned int i = 0; i < bk.n && i < 8; i++)
		TH_LOG("unclaimed completion: user_data %#llx opcode %u res %d flags %#x addr %#llx",
		       (unsigned long long)bk.c[i].user_data, bk.c[i].opcode,
		       bk.c[i].res, bk.c[i].flags,
		       (unsigned long long)bk.c[i].addr);
}

/* Nothing more arrives within @ms (no notification of a refused SEND). */
static void __expect_quiet(struct __test_metadata *_metadata,
			   struct ut_region *r, int ms)
{
	usleep(ms * 1000);
	book_pull(&r->q);
	if (bk.n)
		book_log(_metadata);
	EXPECT_EQ(0U, bk.n);
	EXPECT_EQ(0U, bk.lost);
}

#define expect_quiet(r, ms)	__expect_quiet(_metadata, r, ms)

/* --- descriptors ---------------------------------------------------------- */

static void prep_send(struct unified_io_desc *d, int fd, __u16 owner,
		      __u64 addr, __u32 len, __u32 flags, __u64 ud)
{
	memset(d, 0, sizeof(*d));
	unio_prep_send(d, fd, owner, addr, len, flags, ud);
}

/*
 * Submit one SEND (through the SQ with @sq, else inline), which SUBMIT must
 * consume, and claim its first completion, which must be in the CQ when
 * SUBMIT returns. Checks what holds for every first completion; returns res.
 */
static int __do_send(struct __test_metadata *_metadata, struct ut_region *r,
		     const struct unified_io_desc *d, bool sq,
		     struct unified_io_cqe *cqe)
{
	int ret;

	memset(cqe, 0xa5, sizeof(*cqe));
	if (sq) {
		struct unified_io_desc *sqe = unio_get_sqe(&r->q);
		__u32 head = unio_smp_load_acquire(r->q.sq.khead);

		ASSERT_NE(NULL, sqe);
		*sqe = *d;
		unio_sq_flush(&r->q);
		ret = ut_submit(r->fd, 1);
		ASSERT_EQ(1, ret) TH_LOG("SUBMIT (SQ) of a SEND: %d (%s)", ret,
					 ret < 0 ? strerror(-ret) : "");
		ASSERT_EQ(head + 1, unio_smp_load_acquire(r->q.sq.khead));
	} else {
		ret = ut_submit_inline(r->fd, d);
		ASSERT_EQ(1, ret) TH_LOG("SUBMIT (inline) of a SEND: %d (%s)", ret,
					 ret < 0 ? strerror(-ret) : "");
	}
	book_pull(&r->q);
	/* "A notification follows": never before its SEND's completion. */
	for (unsigned int i = 0; i < bk.n; i++) {
		if (bk.c[i].user_data != d->user_data)
			continue;
		EXPECT_EQ(0U, bk.c[i].flags & F_NOTIF)
			TH_LOG("the notification of SEND %#llx is in the CQ before its completion",
			       (unsigned long long)d->user_data);
		break;
	}
	ASSERT_TRUE(book_take(d->user_data, false, cqe))
		TH_LOG("no completion of the SEND when SUBMIT returned");
	ASSERT_EQ(UNIFIED_IO_OP_SEND, cqe->opcode);
	/*
	 * @addr of a refused descriptor is not specified: the module leaves
	 * 0 for the refusals of its buffer checks (as for FREE and BPF) and
	 * gives @addr for the socket's errors.
	 */
	if (cqe->res >= 0) {
		EXPECT_EQ(d->addr, cqe->addr);
	} else {
		EXPECT_TRUE(cqe->addr == 0 || cqe->addr == d->addr)
			TH_LOG("res %d addr %#llx", cqe->res,
			       (unsigned long long)cqe->addr);
	}
	for (int i = 0; i < 7; i++)
		EXPECT_EQ(0, cqe->resv[i]);
	EXPECT_GE((__s64)d->len, (__s64)cqe->res);
	EXPECT_EQ(0U, cqe->flags & (F_NOTIF | F_COPIED))
		TH_LOG("first completion flags %#x", cqe->flags);
	/* F_MORE exactly when bytes were queued: then a notification follows. */
	EXPECT_EQ(cqe->res > 0, !!(cqe->flags & F_MORE))
		TH_LOG("res %d flags %#x", cqe->res, cqe->flags);
	/* F_BPF_RAN only for F_BPF, and not with a drop. */
	if (!(d->net.flags & UNIFIED_IO_SEND_F_BPF) || (cqe->flags & F_BPF_DROP))
		EXPECT_EQ(0U, cqe->flags & F_BPF_RAN)
			TH_LOG("res %d flags %#x", cqe->res, cqe->flags);
	if (!(cqe->flags & F_BPF_DROP))
		EXPECT_EQ(0U, cqe->flags & ~(__u32)(F_MORE | F_BPF_RAN))
			TH_LOG("res %d flags %#x", cqe->res, cqe->flags);
	return cqe->res;
}

#define do_send(r, d, sq, cqe)	__do_send(_metadata, r, d, sq, cqe)

/*
 * Wait for the notification of the SEND @ud that queued @res bytes at @addr;
 * @copied: 1 F_COPIED required, 0 forbidden, -1 either. Returns its flags.
 */
static __u32 __wait_notif(struct __test_metadata *_metadata,
			  struct ut_region *r, __u64 ud, __u64 addr, int res,
			  int copied, int timeout_ms)
{
	struct unified_io_cqe n;

	if (!book_wait(r, ud, true, timeout_ms, &n)) {
		book_log(_metadata);
		ASSERT_TRUE(false) TH_LOG("no notification of SEND %#llx after %d ms",
					  (unsigned long long)ud, timeout_ms);
	}
	EXPECT_EQ(UNIFIED_IO_OP_SEND, n.opcode);
	EXPECT_EQ(addr, n.addr);
	EXPECT_EQ(res, n.res);
	EXPECT_EQ(0U, n.flags & ~(__u32)(F_NOTIF | F_COPIED))
		TH_LOG("notification flags %#x", n.flags);
	if (copied >= 0)
		EXPECT_EQ(!!copied, !!(n.flags & F_COPIED))
			TH_LOG("notification flags %#x", n.flags);
	return n.flags;
}

#define wait_notif(r, ud, addr, res, copied)				\
	__wait_notif(_metadata, r, ud, addr, res, copied, 10000)

static int send_info(struct ut_region *r, struct unified_io_send_info *si,
		     struct unified_io_stats *st)
{
	struct unified_io_info info;
	int ret = ut_get_info(r->fd, &info);

	if (si)
		*si = info.send;
	if (st)
		*st = info.stats;
	return ret;
}

static void fill(struct ut_region *r, __u64 addr, __u32 len, __u64 seed,
		 __u64 stream_off)
{
	__u8 *p = (__u8 *)r->q.data + addr;

	for (__u32 i = 0; i < len; i++)
		p[i] = ut_pattern(seed, stream_off + i);
}

static __u32 bidx(const struct ut_region *r, __u64 addr)
{
	return addr / r->l.buf_size;
}

/* --- sockets ---------------------------------------------------------------- */

/*
 * A connected TCP pair: *snd (blocking) in the caller's namespace, *rcv
 * (O_NONBLOCK) accepted from a listener on @addr:@port in @peer_ns (-1: the
 * caller's; @own_ns brings the caller back), the listener with SO_RCVBUF
 * @rcvbuf, *snd with SO_SNDBUFFORCE (SO_SNDBUF without CAP_NET_ADMIN)
 * @sndbuf, where > 0. Returns 0 or -errno.
 */
static int tcp_pair(int peer_ns, int own_ns, struct in_addr addr,
		    uint16_t port, int rcvbuf, int sndbuf, int *snd, int *rcv)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr = addr,
	};
	int ls, ret;

	*snd = *rcv = -1;
	if (peer_ns >= 0 && nl_netns_enter(peer_ns))
		return -errno;
	ls = nl_listen_rcvbuf(addr, port, rcvbuf);
	if (peer_ns >= 0 && nl_netns_enter(own_ns)) {
		ret = -errno;
		if (ls >= 0)
			close(ls);
		return ret;
	}
	if (ls < 0)
		return ls;
	*snd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*snd < 0)
		goto fail;
	if (sndbuf > 0 &&
	    setsockopt(*snd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) &&
	    setsockopt(*snd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)))
		goto fail;
	if (connect(*snd, (struct sockaddr *)&sin, sizeof(sin)))
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

static struct in_addr lo_addr(void)
{
	struct in_addr a = { .s_addr = htonl(INADDR_LOOPBACK) };

	return a;
}

/* The receiving end of a stream of ut_pattern(seed) bytes. */
struct rxv {
	int fd;
	__u64 seed;
	__u64 off;		/* stream offset of the next byte */
	__u64 bad;		/* first wrong byte + 1, 0 if none */
	__u8 xor;		/* bytes from @xor_from on are XORed with it */
	__u64 xor_from, xor_to;
	bool eof;
};

/* Read what is there (at most up to stream offset @upto); -errno on error. */
static long rx_some(struct rxv *v, __u64 upto)
{
	static __u8 buf[1 << 16];
	long got = 0;

	while (v->off < upto) {
		size_t want = upto - v->off < sizeof(buf) ? upto - v->off : sizeof(buf);
		ssize_t n = recv(v->fd, buf, want, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		if (n == 0) {
			v->eof = true;
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			__u64 o = v->off + i;
			__u8 want_b = ut_pattern(v->seed, o);

			if (o >= v->xor_from && o < v->xor_to)
				want_b ^= v->xor;
			if (buf[i] != want_b && !v->bad)
				v->bad = o + 1;
		}
		v->off += n;
		got += n;
	}
	return got;
}

/* Read until stream offset @upto (and EOF with @eof), within @timeout_ms. */
static int rx_until(struct rxv *v, __u64 upto, bool eof, int timeout_ms)
{
	uint64_t end = nl_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = v->fd, .events = POLLIN };
		long n = rx_some(v, eof ? ~0ULL : upto);

		if (n < 0)
			return n;
		if (v->off > upto)
			return -EMSGSIZE;
		if (v->off == upto && (!eof || v->eof))
			return 0;
		if (v->eof)
			return -EPIPE;
		if (nl_now_ms() > end)
			return -ETIMEDOUT;
		poll(&pfd, 1, 20);
	}
}

/*
 * Write @len bytes of the stream of @seed from *off (advanced) with plain
 * send() calls, without blocking; returns what went.
 */
static size_t write_plain(int s, __u64 seed, __u64 *off, size_t len)
{
	__u8 buf[8192];
	size_t done = 0;

	while (done < len) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t w;

		for (size_t i = 0; i < n; i++)
			buf[i] = ut_pattern(seed, *off + i);
		w = send(s, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w <= 0)
			break;
		*off += w;
		done += w;
	}
	return done;
}

/* Bytes written but not yet sent (SIOCOUTQNSD), or -errno. */
static long outq_unsent(int s)
{
	int n;

	return ioctl(s, SIOCOUTQNSD, &n) ? -errno : n;
}

/*
 * Close the peer's receive window: plain bytes of the stream until some stay
 * unsent on @s (the peer does not read and its SO_RCVBUF is small). Whatever
 * is sent on @s afterwards waits in its queue until the peer reads.
 * Returns 0 or -errno.
 */
static int block_peer(int s, __u64 seed, __u64 *off, size_t most)
{
	size_t sent = 0;

	while (sent < most) {
		sent += write_plain(s, seed, off, 4096);
		usleep(20000);
		if (outq_unsent(s) > 0) {
			usleep(50000);
			return outq_unsent(s) > 0 ? 0 : -EAGAIN;
		}
	}
	return -ENOSPC;
}

/* What the sending socket says, for a failure's log. */
static void __sock_diag(struct __test_metadata *_metadata, int s)
{
	struct tcp_info ti = {};
	socklen_t tl = sizeof(ti), il = sizeof(int);
	int sndbuf = 0, outq = 0;
	char lowat[32] = "?";
	FILE *f;

	getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &tl);
	getsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, &il);
	ioctl(s, SIOCOUTQ, &outq);
	f = fopen("/proc/sys/net/ipv4/tcp_notsent_lowat", "r");
	if (f) {
		if (!fgets(lowat, sizeof(lowat), f))
			strcpy(lowat, "?");
		fclose(f);
	}
	TH_LOG("socket: SO_SNDBUF %d outq %d unsent %ld snd_wnd %u snd_mss %u notsent %u state %u tcp_notsent_lowat %s",
	       sndbuf, outq, outq_unsent(s), ti.tcpi_snd_wnd, ti.tcpi_snd_mss,
	       ti.tcpi_notsent_bytes, ti.tcpi_state, lowat);
}

#define sock_diag(s)	__sock_diag(_metadata, s)

/* --- state snapshots ----------------------------------------------------------- */

struct snap {
	struct unified_io_stats st;
	struct unified_io_send_info si;
	struct unified_io_buf_entry bt[256];
};

static void __snap_take(struct __test_metadata *_metadata, struct ut_region *r,
			struct snap *s)
{
	ASSERT_GE(UT_ARRAY_SIZE(s->bt), r->l.nr_bufs);
	ASSERT_EQ(0, send_info(r, &s->si, &s->st));
	memcpy(s->bt, r->bt, r->l.nr_bufs * sizeof(*r->bt));
}

#define snap_take(r, s)	__snap_take(_metadata, r, s)

/*
 * Since @b, @n refused SENDs were consumed (each one descriptor, one
 * completion, one error, in @calls SUBMIT calls) and nothing else changed.
 */
static void __snap_refused(struct __test_metadata *_metadata,
			   struct ut_region *r, const struct snap *b,
			   unsigned int n, unsigned int calls)
{
	struct snap a;

	snap_take(r, &a);
	EXPECT_EQ(b->st.submit_calls + calls, a.st.submit_calls);
	EXPECT_EQ(b->st.sqes + n, a.st.sqes);
	EXPECT_EQ(b->st.cqes + n, a.st.cqes);
	EXPECT_EQ(b->st.errors + n, a.st.errors);
	EXPECT_EQ(b->st.ops[UNIFIED_IO_OP_SEND] + n, a.st.ops[UNIFIED_IO_OP_SEND]);
	EXPECT_EQ(b->st.cq_full, a.st.cq_full);
	EXPECT_EQ(b->st.bufs_free, a.st.bufs_free);
	EXPECT_EQ(b->st.bufs_app, a.st.bufs_app);
	EXPECT_EQ(b->st.bufs_kernel, a.st.bufs_kernel);
	EXPECT_EQ(b->si.sends, a.si.sends);
	EXPECT_EQ(b->si.send_bytes, a.si.send_bytes);
	EXPECT_EQ(b->si.notifs, a.si.notifs);
	EXPECT_EQ(b->si.zc_bytes, a.si.zc_bytes);
	EXPECT_EQ(b->si.copied_bytes, a.si.copied_bytes);
	EXPECT_EQ(b->si.bpf_drops, a.si.bpf_drops);
	EXPECT_EQ(b->si.inflight, a.si.inflight);
	EXPECT_EQ(b->si.bufs_sending, a.si.bufs_sending);
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(0U, a.si.resv[i]);
	for (__u32 i = 0; i < r->l.nr_bufs; i++) {
		EXPECT_EQ(b->bt[i].owner, a.bt[i].owner) TH_LOG("buffer %u", i);
		EXPECT_EQ(b->bt[i].state, a.bt[i].state) TH_LOG("buffer %u", i);
		EXPECT_EQ(b->bt[i].refs, a.bt[i].refs) TH_LOG("buffer %u", i);
	}
}

#define snap_refused(r, b, n, calls)	__snap_refused(_metadata, r, b, n, calls)

/* Buffer @addr is held by @owner in @state with @refs references. */
static void __expect_buf(struct __test_metadata *_metadata, struct ut_region *r,
			 __u64 addr, __u16 owner, __u8 state, __u8 refs)
{
	const struct unified_io_buf_entry *e = &r->bt[bidx(r, addr)];

	EXPECT_EQ(owner, e->owner) TH_LOG("buffer %u", bidx(r, addr));
	EXPECT_EQ(state, e->state) TH_LOG("buffer %u", bidx(r, addr));
	EXPECT_EQ(refs, e->refs) TH_LOG("buffer %u", bidx(r, addr));
}

#define expect_buf(r, a, o, s, n)	__expect_buf(_metadata, r, a, o, s, n)

/* Features of the running module; SKIP without NET_SEND. */
#define REQUIRE_SEND() do {						\
	UT_REQUIRE_DEVICE();						\
	if (!(nt_features() & UNIFIED_IO_FEAT_NET_SEND))		\
		SKIP(return, "no UNIFIED_IO_FEAT_NET_SEND");		\
} while (0)

/* ======================================================================== */
/* sabi: the refusals                                                        */
/* ======================================================================== */

#define ABI_BUF		4096
#define ABI_NBUFS	8
#define ABI_PORT	7951

FIXTURE(sabi) {
	struct ut_region r;
	int s, peer;
	__u64 buf;		/* held by OWNER, the pattern in it */
};

FIXTURE_SETUP(sabi)
{
	int ret;

	self->r.fd = -1;
	self->s = self->peer = -1;
	REQUIRE_SEND();
	if (!ut_region_create(&self->r, 8, 64, ABI_BUF, ABI_NBUFS * ABI_BUF, 0))
		return;
	ret = tcp_pair(-1, -1, lo_addr(), ABI_PORT, 0, 0, &self->s, &self->peer);
	ASSERT_EQ(0, ret) TH_LOG("TCP pair over lo: %s", strerror(-ret));
	ASSERT_EQ(ABI_BUF, ut_alloc(&self->r, OWNER, &self->buf));
	fill(&self->r, self->buf, ABI_BUF, SEED_STREAM, 0);
	memset(&bk, 0, sizeof(bk));
}

FIXTURE_TEARDOWN(sabi)
{
	if (self->s >= 0)
		close(self->s);
	if (self->peer >= 0)
		close(self->peer);
	ut_region_destroy(&self->r);
}

/*
 * @d is refused with @err through the SQ and inline: one completion each
 * with that errno and no flag, nothing changed, nothing on the peer, no
 * notification later.
 */
static void __expect_refused(struct __test_metadata *_metadata,
			     FIXTURE_DATA(sabi) *self,
			     const struct unified_io_desc *d, int err,
			     const char *what)
{
	struct unified_io_cqe cqe;
	struct snap b;
	int res;

	snap_take(&self->r, &b);
	res = do_send(&self->r, d, true, &cqe);
	EXPECT_EQ(-err, res) TH_LOG("%s (SQ): %d (%s), want %s", what, res,
				    strerror(-res), strerror(err));
	EXPECT_EQ(0U, cqe.flags) TH_LOG("%s", what);
	res = do_send(&self->r, d, false, &cqe);
	EXPECT_EQ(-err, res) TH_LOG("%s (inline): %d (%s), want %s", what, res,
				    strerror(-res), strerror(err));
	EXPECT_EQ(0U, cqe.flags) TH_LOG("%s", what);
	expect_quiet(&self->r, 100);
	snap_refused(&self->r, &b, 2, 2);
	EXPECT_EQ(0, nt_inq(self->peer)) TH_LOG("%s: bytes reached the peer", what);
}

#define expect_refused(d, err, what)	__expect_refused(_metadata, self, d, err, what)

/* After the refusals, the same buffer sends fine: the setup was sound. */
static void __send_works(struct __test_metadata *_metadata,
			 FIXTURE_DATA(sabi) *self)
{
	struct unified_io_desc d;
	struct unified_io_cqe cqe;
	struct rxv v = { .fd = self->peer, .seed = SEED_STREAM };

	prep_send(&d, self->s, OWNER, self->buf, ABI_BUF, 0, UD(0xfff));
	ASSERT_EQ(ABI_BUF, do_send(&self->r, &d, false, &cqe));
	wait_notif(&self->r, UD(0xfff), self->buf, ABI_BUF, -1);
	ASSERT_EQ(0, rx_until(&v, ABI_BUF, false, 10000));
	EXPECT_EQ(0U, v.bad) TH_LOG("byte %llu differs", (unsigned long long)v.bad - 1);
}

#define send_works()	__send_works(_metadata, self)

TEST_F(sabi, desc_flags_einval)
{
	struct unified_io_desc d;
	static const __u8 flags[] = { 1, 0x80, 0xff };

	for (unsigned int i = 0; i < UT_ARRAY_SIZE(flags); i++) {
		prep_send(&d, self->s, OWNER, self->buf, 100, 0, UD(i));
		d.flags = flags[i];
		expect_refused(&d, EINVAL, "descriptor flags");
	}
	send_works();
}

/*
 * A batch never leaves a hole in a stream: once a SEND on an fd fell short
 * (here: refused), the later SENDs on that fd in the same SUBMIT queue
 * nothing (EAGAIN); another fd's go on, and the next SUBMIT starts afresh.
 */
TEST_F(sabi, batch_after_short_send_eagain)
{
	struct unified_io_desc *sqe;
	struct unified_io_cqe c;
	int s2, peer2, ret;
	char got[1000];

	ret = tcp_pair(-1, -1, lo_addr(), ABI_PORT + 5, 0, 0, &s2, &peer2);
	ASSERT_EQ(0, ret) TH_LOG("second TCP pair: %s", strerror(-ret));
	sqe = unio_get_sqe(&self->r.q);
	ASSERT_NE(NULL, sqe);
	prep_send(sqe, self->s, OTHER, self->buf, 1000, 0, UD(1));
	sqe = unio_get_sqe(&self->r.q);
	ASSERT_NE(NULL, sqe);
	prep_send(sqe, self->s, OWNER, self->buf, 1000, 0, UD(2));
	sqe = unio_get_sqe(&self->r.q);
	ASSERT_NE(NULL, sqe);
	prep_send(sqe, s2, OWNER, self->buf, 1000, 0, UD(3));
	sqe = unio_get_sqe(&self->r.q);
	ASSERT_NE(NULL, sqe);
	prep_send(sqe, self->s, OWNER, self->buf, 1000, 0, UD(4));
	unio_sq_flush(&self->r.q);
	ASSERT_EQ(4, ut_submit(self->r.fd, 4));
	book_pull(&self->r.q);
	ASSERT_TRUE(book_take(UD(1), false, &c));
	EXPECT_EQ(-EPERM, c.res);
	ASSERT_TRUE(book_take(UD(2), false, &c));
	EXPECT_EQ(-EAGAIN, c.res) TH_LOG("a SEND after a refused one on its fd: %d", c.res);
	EXPECT_EQ(0U, c.flags);
	ASSERT_TRUE(book_take(UD(4), false, &c));
	EXPECT_EQ(-EAGAIN, c.res) TH_LOG("the third on the fd: %d", c.res);
	ASSERT_TRUE(book_take(UD(3), false, &c));
	EXPECT_EQ(1000, c.res) TH_LOG("another fd's SEND: %d", c.res);
	wait_notif(&self->r, UD(3), self->buf, 1000, 1);
	ASSERT_EQ(1000, nt_wait_inq(peer2, 1000, 5000));
	ASSERT_EQ(1000, recv(peer2, got, sizeof(got), 0));
	EXPECT_EQ(0, memcmp(got, self->r.map + self->r.l.data_off + self->buf, 1000));
	EXPECT_EQ(0, nt_inq(self->peer)) TH_LOG("bytes passed the refused SEND");
	close(s2);
	close(peer2);
	/* A new SUBMIT: the fd sends again, from the stream's start. */
	send_works();
}

TEST_F(sabi, owner_zero_einval)
{
	struct unified_io_desc d;

	prep_send(&d, self->s, 0, self->buf, 100, 0, UD(1));
	expect_refused(&d, EINVAL, "owner 0");
	send_works();
}

TEST_F(sabi, net_flags_unknown_einval)
{
	static const __u32 bad[] = { 1U << 2, 1U << 8, 1U << 31, ~0U };
	struct unified_io_desc d;

	for (unsigned int i = 0; i < UT_ARRAY_SIZE(bad); i++) {
		prep_send(&d, self->s, OWNER, self->buf, 100, bad[i], UD(i));
		expect_refused(&d, EINVAL, "unknown net.flags bit");
	}
	send_works();
}

TEST_F(sabi, net_resv_einval)
{
	struct unified_io_desc d;

	for (unsigned int i = 0; i < 4; i++) {
		prep_send(&d, self->s, OWNER, self->buf, 100, 0, UD(i));
		d.net.resv[i] = 1ULL << (i * 16);
		expect_refused(&d, EINVAL, "net.resv");
	}
	send_works();
}

TEST_F(sabi, len_zero_einval)
{
	struct unified_io_desc d;

	prep_send(&d, self->s, OWNER, self->buf, 0, 0, UD(1));
	expect_refused(&d, EINVAL, "len 0");
	prep_send(&d, self->s, OWNER, self->buf + 100, 0, 0, UD(2));
	expect_refused(&d, EINVAL, "len 0 inside the buffer");
	send_works();
}

TEST_F(sabi, addr_beyond_data_erange)
{
	__u64 ds = self->r.l.data_size;
	struct unified_io_desc d;

	prep_send(&d, self->s, OWNER, ds, 1, 0, UD(1));
	expect_refused(&d, ERANGE, "addr = data_size");
	prep_send(&d, self->s, OWNER, ds + ABI_BUF, ABI_BUF, 0, UD(2));
	expect_refused(&d, ERANGE, "addr one buffer beyond");
	prep_send(&d, self->s, OWNER, ~0ULL, 1, 0, UD(3));
	expect_refused(&d, ERANGE, "addr ~0");
	prep_send(&d, self->s, OWNER, 1ULL << 63, 1, 0, UD(4));
	expect_refused(&d, ERANGE, "addr 1 << 63");
	/* ERANGE is checked before len 0 and F_BPF placement. */
	prep_send(&d, self->s, OWNER, ds, 0, 0, UD(5));
	expect_refused(&d, ERANGE, "addr = data_size, len 0");
	prep_send(&d, self->s, OWNER, ds + 1, 1, UNIFIED_IO_SEND_F_BPF, UD(6));
	expect_refused(&d, ERANGE, "addr beyond, F_BPF not at a buffer start");
	send_works();
}

TEST_F(sabi, range_crosses_buffer_einval)
{
	__u64 last = self->r.l.data_size - ABI_BUF;
	struct unified_io_desc d;
	__u64 other;

	/* The next buffer held by the same owner changes nothing. */
	ASSERT_EQ(ABI_BUF, ut_alloc(&self->r, OWNER, &other));
	prep_send(&d, self->s, OWNER, self->buf + 1, ABI_BUF, 0, UD(1));
	expect_refused(&d, EINVAL, "one byte into the next buffer");
	prep_send(&d, self->s, OWNER, self->buf + ABI_BUF - 1, 2, 0, UD(2));
	expect_refused(&d, EINVAL, "last byte and the next");
	prep_send(&d, self->s, OWNER, self->buf, ABI_BUF + 1, 0, UD(3));
	expect_refused(&d, EINVAL, "len buffer size + 1");
	prep_send(&d, self->s, OWNER, self->buf, ~0U, 0, UD(4));
	expect_refused(&d, EINVAL, "len ~0");
	prep_send(&d, self->s, OWNER, self->buf + 8, 0xfffffff8U, 0, UD(5));
	expect_refused(&d, EINVAL, "addr + len wrapping 32 bits");
	/* Crossing the end of the data area from inside: EINVAL, not ERANGE. */
	prep_send(&d, self->s, OWNER, last + ABI_BUF - 1, 2, 0, UD(6));
	expect_refused(&d, EINVAL, "crossing the end of the data area");
	send_works();
}

TEST_F(sabi, bpf_not_at_buffer_start_einval)
{
	struct unified_io_desc d;

	/* No program attached: the placement is checked before ENOENT. */
	prep_send(&d, self->s, OWNER, self->buf + 1, 10, UNIFIED_IO_SEND_F_BPF, UD(1));
	expect_refused(&d, EINVAL, "F_BPF at buffer + 1");
	prep_send(&d, self->s, OWNER, self->buf + ABI_BUF / 2, ABI_BUF / 2,
		  UNIFIED_IO_SEND_F_BPF, UD(2));
	expect_refused(&d, EINVAL, "F_BPF in the middle of the buffer");
	send_works();
}

TEST_F(sabi, buffer_free_eperm)
{
	struct unified_io_desc d;
	__u64 freeb = -1;

	for (__u32 i = 0; i < self->r.l.nr_bufs; i++)
		if (self->r.bt[i].state == UNIFIED_IO_BUF_FREE) {
			freeb = (__u64)i * ABI_BUF;
			break;
		}
	ASSERT_NE((__u64)-1, freeb);
	prep_send(&d, self->s, OWNER, freeb, 100, 0, UD(1));
	expect_refused(&d, EPERM, "free buffer");
	prep_send(&d, self->s, OWNER, freeb + 10, 100, 0, UD(2));
	expect_refused(&d, EPERM, "inside a free buffer");
	/* Freed after use: EPERM again. */
	ASSERT_EQ(0, ut_free(&self->r, OWNER, self->buf));
	prep_send(&d, self->s, OWNER, self->buf, 100, 0, UD(3));
	expect_refused(&d, EPERM, "buffer freed by its owner");
}

TEST_F(sabi, other_owner_eperm)
{
	struct unified_io_desc d;
	__u64 theirs;

	prep_send(&d, self->s, OTHER, self->buf, 100, 0, UD(1));
	expect_refused(&d, EPERM, "buffer held by another owner");
	ASSERT_EQ(ABI_BUF, ut_alloc(&self->r, OTHER, &theirs));
	prep_send(&d, self->s, OWNER, theirs + 5, 100, 0, UD(2));
	expect_refused(&d, EPERM, "the other owner's buffer");
	prep_send(&d, self->s, OWNER, theirs, ABI_BUF, UNIFIED_IO_SEND_F_BPF, UD(3));
	expect_refused(&d, EPERM, "the other owner's buffer, F_BPF");
	send_works();
}

TEST_F(sabi, bpf_without_program_enoent)
{
	struct unified_io_info info;
	struct unified_io_desc d;

	ASSERT_EQ(0, ut_get_info(self->r.fd, &info));
	ASSERT_EQ(0U, info.nr_bpf_progs);
	prep_send(&d, self->s, OWNER, self->buf, ABI_BUF, UNIFIED_IO_SEND_F_BPF, UD(1));
	expect_refused(&d, ENOENT, "F_BPF, no program");
	prep_send(&d, self->s, OWNER, self->buf, 1, UNIFIED_IO_SEND_F_BPF |
		  UNIFIED_IO_SEND_F_MORE, UD(2));
	expect_refused(&d, ENOENT, "F_BPF | F_MORE, no program");
	send_works();
}

TEST_F(sabi, fd_not_open_ebadf)
{
	struct unified_io_desc d;
	int fd = dup(0);

	ASSERT_LE(0, fd);
	close(fd);
	prep_send(&d, fd, OWNER, self->buf, 100, 0, UD(1));
	expect_refused(&d, EBADF, "closed fd");
	prep_send(&d, -1, OWNER, self->buf, 100, 0, UD(2));
	expect_refused(&d, EBADF, "fd -1");
	prep_send(&d, 1 << 30, OWNER, self->buf, 100, 0, UD(3));
	expect_refused(&d, EBADF, "fd 1 << 30");
	send_works();
}

TEST_F(sabi, fd_not_socket_enotsock)
{
	struct unified_io_desc d;
	int pfd[2], dn;
	char c;

	ASSERT_EQ(0, pipe(pfd));
	prep_send(&d, pfd[1], OWNER, self->buf, 100, 0, UD(1));
	expect_refused(&d, ENOTSOCK, "pipe");
	prep_send(&d, self->r.fd, OWNER, self->buf, 100, 0, UD(2));
	expect_refused(&d, ENOTSOCK, "the region's own fd");
	dn = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, dn);
	prep_send(&d, dn, OWNER, self->buf, 100, 0, UD(3));
	expect_refused(&d, ENOTSOCK, "/dev/null");
	close(dn);
	/* Nothing went into the pipe either. */
	ASSERT_EQ(0, fcntl(pfd[0], F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-1, read(pfd[0], &c, 1));
	EXPECT_EQ(EAGAIN, errno);
	close(pfd[0]);
	close(pfd[1]);
	send_works();
}

TEST_F(sabi, not_tcp_eprotonosupport)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(ABI_PORT + 1),
		.sin_addr = lo_addr(),
	};
	struct unified_io_desc d;
	int u, us[2], rd, one = 1;
	char c;

	/* A connected UDP socket, its peer bound: sendmsg() would work. */
	rd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ASSERT_LE(0, rd);
	setsockopt(rd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ASSERT_EQ(0, bind(rd, (struct sockaddr *)&sin, sizeof(sin)));
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, u);
	ASSERT_EQ(0, connect(u, (struct sockaddr *)&sin, sizeof(sin)));
	prep_send(&d, u, OWNER, self->buf, 100, 0, UD(1));
	expect_refused(&d, EPROTONOSUPPORT, "connected UDP socket");
	EXPECT_EQ(-1, recv(rd, &c, 1, MSG_DONTWAIT)) TH_LOG("a datagram arrived");
	close(u);
	close(rd);

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, us));
	prep_send(&d, us[0], OWNER, self->buf, 100, 0, UD(2));
	expect_refused(&d, EPROTONOSUPPORT, "AF_UNIX stream");
	EXPECT_EQ(-1, recv(us[1], &c, 1, MSG_DONTWAIT)) TH_LOG("bytes arrived");
	close(us[0]);
	close(us[1]);
	send_works();
}

/*
 * A TCP socket that is not connected: the header lists the socket's state
 * errors (ENOTCONN, EPIPE, ...); accept either and log which the module
 * gives, next to what send() says on the same socket.
 */
TEST_F(sabi, tcp_not_connected)
{
	struct unified_io_desc d;
	struct unified_io_cqe cqe;
	struct snap b;
	int t, l, res, sres, serr;
	int socks[2];

	t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, t);
	l = nl_listen(lo_addr(), ABI_PORT + 2);
	ASSERT_LE(0, l);
	socks[0] = t;
	socks[1] = l;
	for (int i = 0; i < 2; i++) {
		const char *what = i ? "listening TCP socket" : "unconnected TCP socket";

		snap_take(&self->r, &b);
		prep_send(&d, socks[i], OWNER, self->buf, 100, 0, UD(i));
		res = do_send(&self->r, &d, false, &cqe);
		sres = send(socks[i], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		serr = errno;
		EXPECT_EQ(-1, sres);
		TH_LOG("%s: SEND %d (%s), send() %s", what, res, strerror(-res),
		       strerror(serr));
		EXPECT_TRUE(res == -ENOTCONN || res == -EPIPE)
			TH_LOG("%s: %d (%s)", what, res, strerror(-res));
		EXPECT_EQ(0U, cqe.flags);
		expect_quiet(&self->r, 100);
		snap_refused(&self->r, &b, 1, 1);
	}
	close(t);
	close(l);
	send_works();
}

/* A socket shut down for writing: EPIPE, as send() says. */
TEST_F(sabi, tcp_shut_down_epipe)
{
	struct unified_io_desc d;
	char c;

	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	EXPECT_EQ(-1, send(self->s, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	prep_send(&d, self->s, OWNER, self->buf, 100, 0, UD(1));
	expect_refused(&d, EPIPE, "SHUT_WR socket");
	/* The peer sees the FIN and nothing else. */
	usleep(50000);
	EXPECT_EQ(0, recv(self->peer, &c, 1, MSG_DONTWAIT));
}

/*
 * GET_INFO's send tail: written for a caller that knows it, not beyond the
 * size a caller built before it passes (min(size, kernel size) bytes).
 */
TEST_F(sabi, info_send_tail)
{
	const size_t tail = offsetof(struct unified_io_info, send);
	struct unified_io_info info;
	const __u8 *p = (const __u8 *)&info;
	int ret;

	send_works();
	for (int i = 0; i < 3; i++) {
		/* Before the tail, through its first counter, all of it. */
		size_t size = i == 0 ? tail : i == 1 ? tail + 8 : sizeof(info);

		memset(&info, 0xcc, sizeof(info));
		info.size = size;
		info.flags = 0;
		ret = ut_ioctl(self->r.fd, UNIFIED_IO_GET_INFO, &info);
		ASSERT_EQ(0, ret) TH_LOG("size %zu: %s", size, strerror(-ret));
		EXPECT_EQ(1U, info.stats.ops[UNIFIED_IO_OP_SEND]) TH_LOG("size %zu", size);
		for (size_t b = size; b < sizeof(info); b++) {
			if (p[b] != 0xcc) {
				EXPECT_EQ(0xcc, p[b]) TH_LOG("size %zu: byte %zu written", size, b);
				break;
			}
		}
		if (size > tail)
			EXPECT_EQ(1U, info.send.sends) TH_LOG("size %zu", size);
		if (size == sizeof(info)) {
			EXPECT_EQ((__u64)ABI_BUF, info.send.send_bytes);
			EXPECT_EQ(1U, info.send.notifs);
			EXPECT_EQ(0U, info.send.inflight);
			EXPECT_EQ(0U, info.send.bufs_sending);
			for (int k = 0; k < 5; k++)
				EXPECT_EQ(0U, info.send.resv[k]);
		}
	}
}

/*
 * The peer's reset (SO_LINGER 0): the socket's error once, ECONNRESET, then
 * EPIPE, as send() reports them; nothing else changes.
 */
TEST_F(sabi, peer_reset_econnreset)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct unified_io_desc d;
	struct unified_io_cqe cqe;
	struct snap b;
	int res;

	ASSERT_EQ(0, setsockopt(self->peer, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	ASSERT_EQ(0, close(self->peer));
	self->peer = -1;
	usleep(100000);
	snap_take(&self->r, &b);
	prep_send(&d, self->s, OWNER, self->buf, 100, 0, UD(1));
	res = do_send(&self->r, &d, false, &cqe);
	EXPECT_EQ(-ECONNRESET, res) TH_LOG("%d (%s)", res, strerror(-res));
	EXPECT_EQ(0U, cqe.flags);
	prep_send(&d, self->s, OWNER, self->buf, 100, 0, UD(2));
	res = do_send(&self->r, &d, true, &cqe);
	EXPECT_EQ(-EPIPE, res) TH_LOG("%d (%s)", res, strerror(-res));
	EXPECT_EQ(0U, cqe.flags);
	expect_quiet(&self->r, 100);
	snap_refused(&self->r, &b, 2, 2);
	EXPECT_EQ(-1, send(self->s, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
}

/*
 * A SEND is consumed only with two free CQ slots: with one, SUBMIT fails
 * with EBUSY, inline and from the SQ, and consumes nothing; a NOP still
 * fits there. With two, it runs; its notification takes the last slot.
 */
TEST_F(sabi, cq_one_free_slot_ebusy)
{
	struct ut_region *r = &self->r;
	__u32 cq = r->l.cq.ring_entries;
	struct unified_io_desc d, nop;
	struct unified_io_cqe cqe;
	struct unified_io_stats st0, st1;
	struct rxv v = { .fd = self->peer, .seed = SEED_STREAM };
	__u32 head;
	int ret;

	unio_prep_nop(&nop, 0x909);
	for (__u32 i = 0; i < cq - 1; i++)
		ASSERT_EQ(1, ut_submit_inline(r->fd, &nop));
	ASSERT_EQ(cq - 1, unio_cq_ready(&r->q));
	ASSERT_EQ(0, send_info(r, NULL, &st0));

	prep_send(&d, self->s, OWNER, self->buf, ABI_BUF, 0, UD(1));
	ret = ut_submit_inline(r->fd, &d);
	EXPECT_EQ(-EBUSY, ret) TH_LOG("inline SEND with one free CQ slot: %d", ret);
	head = unio_smp_load_acquire(r->q.sq.khead);
	*unio_get_sqe(&r->q) = d;
	unio_sq_flush(&r->q);
	ret = ut_submit(r->fd, 1);
	EXPECT_EQ(-EBUSY, ret) TH_LOG("SQ SEND with one free CQ slot: %d", ret);
	EXPECT_EQ(head, unio_smp_load_acquire(r->q.sq.khead))
		TH_LOG("the SEND was consumed from the SQ");
	EXPECT_EQ(cq - 1, unio_cq_ready(&r->q));
	ASSERT_EQ(0, send_info(r, NULL, &st1));
	EXPECT_EQ(st0.sqes, st1.sqes);
	EXPECT_EQ(st0.cqes, st1.cqes);
	EXPECT_EQ(st0.ops[UNIFIED_IO_OP_SEND], st1.ops[UNIFIED_IO_OP_SEND]);
	EXPECT_EQ(st0.cq_full + 2, st1.cq_full);
	EXPECT_EQ(0, nt_inq(self->peer));
	expect_buf(r, self->buf, OWNER, UNIFIED_IO_BUF_APP, 1);

	/* Two free: the SEND waiting in the SQ goes, the CQ fills up. */
	unio_cq_advance(&r->q, 1);
	ASSERT_EQ(1, ut_submit(r->fd, 1));
	EXPECT_EQ(head + 1, unio_smp_load_acquire(r->q.sq.khead));
	ASSERT_EQ(0, rx_until(&v, ABI_BUF, false, 10000));
	EXPECT_EQ(0U, v.bad);
	/* The result and the notification: the CQ is full, nothing lost. */
	ASSERT_TRUE(book_wait(r, UD(1), false, 10000, &cqe));
	EXPECT_EQ(ABI_BUF, cqe.res);
	EXPECT_EQ(F_MORE, cqe.flags);
	wait_notif(r, UD(1), self->buf, ABI_BUF, -1);
	for (unsigned int i = 0; i < bk.n; i++)
		EXPECT_EQ(0x909U, bk.c[i].user_data);
	EXPECT_EQ(cq - 2, bk.n);
	EXPECT_EQ(0U, bk.lost);
	bk.n = 0;

	/* A NOP fits the last slot where a SEND does not. */
	for (__u32 i = 0; i < cq - 1; i++)
		ASSERT_EQ(1, ut_submit_inline(r->fd, &nop));
	EXPECT_EQ(-EBUSY, ut_submit_inline(r->fd, &d));
	EXPECT_EQ(1, ut_submit_inline(r->fd, &nop));
	EXPECT_EQ(cq, unio_cq_ready(&r->q));
	EXPECT_EQ(-EBUSY, ut_submit_inline(r->fd, &nop));
	unio_cq_advance(&r->q, cq);
}

/*
 * A region whose CQ has one entry has no slot for a notification: SEND is
 * EINVAL there (consumed, not left to block the SQ), in the order of the
 * header's list: after ERANGE, before EPERM.
 */
TEST(cq_of_one_entry_einval)
{
	struct unified_io_desc d;
	struct unified_io_cqe cqe;
	struct ut_region r;
	struct snap b;
	int s, peer, ret, res;
	__u64 buf;

	REQUIRE_SEND();
	memset(&bk, 0, sizeof(bk));
	if (!ut_region_create(&r, 1, 1, ABI_BUF, ABI_NBUFS * ABI_BUF, 0))
		return;
	ASSERT_EQ(1U, r.l.cq.ring_entries);
	ret = tcp_pair(-1, -1, lo_addr(), ABI_PORT + 3, 0, 0, &s, &peer);
	ASSERT_EQ(0, ret) TH_LOG("TCP pair over lo: %s", strerror(-ret));
	ASSERT_EQ(ABI_BUF, ut_alloc(&r, OWNER, &buf));

	snap_take(&r, &b);
	prep_send(&d, s, OWNER, buf, 100, 0, UD(1));
	res = do_send(&r, &d, false, &cqe);
	EXPECT_EQ(-EINVAL, res) TH_LOG("inline: %d (%s)", res, strerror(-res));
	res = do_send(&r, &d, true, &cqe);
	EXPECT_EQ(-EINVAL, res) TH_LOG("SQ: %d (%s)", res, strerror(-res));
	/* Another owner's buffer: still EINVAL, checked before EPERM. */
	prep_send(&d, s, OTHER, buf, 100, 0, UD(2));
	res = do_send(&r, &d, false, &cqe);
	EXPECT_EQ(-EINVAL, res) TH_LOG("other owner: %d (%s)", res, strerror(-res));
	expect_quiet(&r, 100);
	snap_refused(&r, &b, 3, 3);
	EXPECT_EQ(0, nt_inq(peer));
	/* Beyond the data area: ERANGE comes first in the list. */
	snap_take(&r, &b);
	prep_send(&d, s, OWNER, r.l.data_size, 100, 0, UD(3));
	res = do_send(&r, &d, false, &cqe);
	EXPECT_EQ(-ERANGE, res) TH_LOG("addr beyond: %d (%s)", res, strerror(-res));
	snap_refused(&r, &b, 1, 1);
	close(s);
	close(peer);
	ut_region_destroy(&r);
}

/* ======================================================================== */
/* EXDEV: a buffer lent to the network side                                  */
/* ======================================================================== */

#define XD_PORT		7961

TEST(exdev_lent_buffer)
{
	struct nl_pair p;
	struct nl_region r = { .fd = -1 };
	struct nt_stream st;
	struct nl_chunk ch[64];
	struct unified_io_desc d;
	struct unified_io_cqe *c;
	struct unified_io_buf_entry e0;
	unsigned int nr = 0;
	__u64 zc = ~0ULL;
	int s, peer, ret, res;
	char c1;

	nt_stream_init(&st);
	REQUIRE_SEND();
	NT_REQUIRE_PROVIDER();
	if (!nt_pair_create(&p, "unionic"))
		return;
	ASSERT_EQ(0, nl_steer(&p, XD_PORT, NT_ZC_QUEUE)) TH_LOG("%s", p.err);
	if (!nt_region_create(&r, 8, 256, 4096, 256))
		return;
	nt_bind(&r, p.rx_ifindex, NT_ZC_QUEUE, 128);
	nt_stream_start_buf(&st, &p, &r, XD_PORT, 1, 256 << 10, 0, NT_RCVBUF(128));
	ASSERT_LT(0, nt_wait_inq(st.socks[0], 16384, 10000));
	res = nt_recv(&r, st.socks[0], NT_OWNER, 16384, 0, ch, 64, &nr);
	ASSERT_LT(0, res);
	for (unsigned int i = 0; i < nr; i++)
		if (!(ch[i].flags & UNIFIED_IO_CQE_F_COPIED)) {
			zc = ch[i].addr;
			break;
		}
	ASSERT_NE(~0ULL, zc) TH_LOG("no zero-copy chunk in %u", nr);

	/* A connected socket in this namespace to send on. */
	ret = tcp_pair(-1, -1, lo_addr(), XD_PORT + 1, 0, 0, &s, &peer);
	ASSERT_EQ(0, ret) TH_LOG("%s", strerror(-ret));
	e0 = r.bt[zc / 4096];
	prep_send(&d, s, NT_OWNER, zc, 100, 0, UD(1));
	ASSERT_EQ(1, nl_submit_inline(&r, &d));
	c = unio_peek_cqe(&r.q);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(UD(1), c->user_data);
	EXPECT_EQ(-EXDEV, c->res) TH_LOG("SEND of a lent buffer: %d (%s)", c->res,
					 strerror(-c->res));
	EXPECT_EQ(0U, c->flags);
	unio_cqe_seen(&r.q);
	/* Its start with F_BPF: EXDEV too (before ENOENT). */
	prep_send(&d, s, NT_OWNER, zc - zc % 4096, 1, UNIFIED_IO_SEND_F_BPF, UD(2));
	ASSERT_EQ(1, nl_submit_inline(&r, &d));
	c = unio_peek_cqe(&r.q);
	ASSERT_NE(NULL, c);
	EXPECT_EQ(-EXDEV, c->res) TH_LOG("F_BPF: %d (%s)", c->res, strerror(-c->res));
	unio_cqe_seen(&r.q);
	usleep(100000);
	EXPECT_EQ(0U, unio_cq_ready(&r.q)) TH_LOG("a notification after EXDEV");
	EXPECT_EQ(e0.owner, r.bt[zc / 4096].owner);
	EXPECT_EQ(e0.state, r.bt[zc / 4096].state);
	EXPECT_EQ(e0.refs, r.bt[zc / 4096].refs);
	EXPECT_EQ(-1, recv(peer, &c1, 1, MSG_DONTWAIT));
	nt_free_chunks(&r, NT_OWNER, ch, nr);
	close(s);
	close(peer);
	nt_stream_stop(&st);
	nl_region_destroy(&r);
	nl_pair_destroy(&p);
}

/* ======================================================================== */
/* sdata: streams                                                             */
/* ======================================================================== */

#define DATA_BUF	(64 << 10)
#define DATA_NBUFS	16
#define DATA_PORT	7971

FIXTURE(sdata) {
	struct nl_pair p;
	bool paired;
	struct ut_region r;
	int s, peer;
};

FIXTURE_VARIANT(sdata) {
	const char *kind;	/* NULL: lo of the test's namespace */
	int copied;		/* notifications with F_COPIED: 1 all, 0 none */
	__u64 bytes;
};

FIXTURE_VARIANT_ADD(sdata, lo) {
	.kind = NULL,
	.copied = 1,
	.bytes = 8 * NT_MIB,
};

FIXTURE_VARIANT_ADD(sdata, veth) {
	.kind = "veth",
	.copied = 1,
	.bytes = 4 * NT_MIB,
};

FIXTURE_VARIANT_ADD(sdata, unionic) {
	.kind = "unionic",
	.copied = 0,
	.bytes = 4 * NT_MIB,
};

FIXTURE_SETUP(sdata)
{
	int ret;

	self->r.fd = -1;
	self->s = self->peer = -1;
	self->p.ns_orig = self->p.ns_rx = self->p.ns_tx = -1;
	REQUIRE_SEND();
	if (variant->kind) {
		if (!nt_pair_create(&self->p, variant->kind))
			return;
		self->paired = true;
		ret = tcp_pair(self->p.ns_tx, self->p.ns_rx, self->p.tx_addr,
			       DATA_PORT, 0, 0, &self->s, &self->peer);
	} else {
		ret = tcp_pair(-1, -1, lo_addr(), DATA_PORT, 0, 0, &self->s,
			       &self->peer);
	}
	ASSERT_EQ(0, ret) TH_LOG("TCP pair: %s", strerror(-ret));
	if (!ut_region_create(&self->r, 8, 256, DATA_BUF,
			      DATA_NBUFS * DATA_BUF, 0))
		return;
	memset(&bk, 0, sizeof(bk));
}

FIXTURE_TEARDOWN(sdata)
{
	if (self->s >= 0)
		close(self->s);
	if (self->peer >= 0)
		close(self->peer);
	ut_region_destroy(&self->r);
	if (self->paired)
		nl_pair_destroy(&self->p);
}

/* One SEND of the stream, until its notification. */
struct pend {
	__u64 ud, addr;
	int res;
	__u32 buf;
};

TEST_F_TIMEOUT(sdata, stream, 600)
{
	struct ut_region *r = &self->r;
	__u64 total = nt_volume(variant->bytes, 1 * NT_MIB);
	struct rxv v = { .fd = self->peer, .seed = SEED_STREAM };
	static struct pend pend[8192];
	unsigned int npend = 0, inflight_buf[DATA_NBUFS] = {};
	__u64 bufs[DATA_NBUFS];
	__u64 queued = 0, sends = 0, notifs = 0, eagain = 0, partial = 0;
	__u64 copied_bytes = 0, zc_bytes = 0, seq = 0, last_progress;
	/* The piece being sent: buffer, its range, what of it is queued. */
	int cur = -1;
	__u64 cur_off = 0, cur_len = 0, cur_done = 0;
	unsigned int k = 0;
	struct unified_io_send_info si;
	struct unified_io_stats st;

	for (int i = 0; i < DATA_NBUFS; i++)
		ASSERT_EQ(DATA_BUF, ut_alloc(r, OWNER, &bufs[i]));
	last_progress = nl_now_ms();
	while (v.off < total || npend) {
		bool progress = false;
		long n = rx_some(&v, total);
		struct unified_io_cqe c;

		ASSERT_LE(0, n) TH_LOG("recv: %s", strerror(-n));
		ASSERT_EQ(0U, v.bad) TH_LOG("stream byte %llu differs",
					    (unsigned long long)v.bad - 1);
		ASSERT_FALSE(v.eof);
		progress |= n > 0;

		/* Notifications. */
		book_pull(&r->q);
		ASSERT_EQ(0U, bk.lost);
		while (bk.n) {
			unsigned int i;

			c = bk.c[0];
			memmove(&bk.c[0], &bk.c[1], (bk.n - 1) * sizeof(c));
			bk.n--;
			ASSERT_NE(0U, c.flags & F_NOTIF)
				TH_LOG("stray completion %#llx res %d flags %#x",
				       (unsigned long long)c.user_data, c.res, c.flags);
			for (i = 0; i < npend && pend[i].ud != c.user_data; i++)
				;
			ASSERT_LT(i, npend) TH_LOG("notification of unknown SEND %#llx",
						   (unsigned long long)c.user_data);
			EXPECT_EQ(UNIFIED_IO_OP_SEND, c.opcode);
			EXPECT_EQ(pend[i].addr, c.addr);
			EXPECT_EQ(pend[i].res, c.res);
			EXPECT_EQ(0U, c.flags & ~(__u32)(F_NOTIF | F_COPIED));
			EXPECT_EQ(!!variant->copied, !!(c.flags & F_COPIED))
				TH_LOG("notification flags %#x", c.flags);
			if (c.flags & F_COPIED)
				copied_bytes += c.res;
			else
				zc_bytes += c.res;
			notifs++;
			inflight_buf[pend[i].buf]--;
			pend[i] = pend[--npend];
			progress = true;
		}

		/* Send: a new piece in the next buffer once it is idle. */
		if (cur < 0 && queued < total) {
			int b = k % DATA_NBUFS;

			if (!inflight_buf[b]) {
				/* Odd offsets and lengths inside the buffer. */
				__u64 in = (k % 4) * 4096 + (k % 7);
				__u64 len = DATA_BUF - in - (k % 5) * 333;

				if (len > total - queued)
					len = total - queued;
				fill(r, bufs[b] + in, len, SEED_STREAM, queued);
				cur = b;
				cur_off = bufs[b] + in;
				cur_len = len;
				cur_done = 0;
				k++;
			}
		}
		if (cur >= 0) {
			struct unified_io_desc d;
			int res;

			ASSERT_GT(UT_ARRAY_SIZE(pend), npend);
			prep_send(&d, self->s, OWNER, cur_off + cur_done,
				  cur_len - cur_done, 0, UD(++seq));
			res = do_send(r, &d, seq & 1, &c);
			if (res == -EAGAIN) {
				eagain++;
			} else {
				ASSERT_LT(0, res) TH_LOG("SEND: %d (%s)", res,
							 strerror(-res));
				pend[npend++] = (struct pend){ d.user_data, d.addr,
							       res, cur };
				inflight_buf[cur]++;
				sends++;
				if ((__u64)res < cur_len - cur_done)
					partial++;
				cur_done += res;
				queued += res;
				if (cur_done == cur_len)
					cur = -1;
				progress = true;
			}
		}
		if (progress) {
			last_progress = nl_now_ms();
		} else {
			struct pollfd pfd[3] = {
				{ .fd = self->peer, .events = POLLIN },
				{ .fd = self->s, .events = POLLOUT },
				{ .fd = r->fd, .events = POLLIN },
			};

			ASSERT_GT(last_progress + 20000, nl_now_ms())
				TH_LOG("stuck: received %llu of %llu, queued %llu, %u notifications pending",
				       (unsigned long long)v.off,
				       (unsigned long long)total,
				       (unsigned long long)queued, npend);
			poll(pfd, cur >= 0 ? 3 : 1, 10);
		}
	}
	EXPECT_EQ(total, v.off);
	EXPECT_EQ(total, queued);
	EXPECT_EQ(sends, notifs);

	ASSERT_EQ(0, send_info(r, &si, &st));
	EXPECT_EQ(sends, si.sends);
	EXPECT_EQ(total, si.send_bytes);
	EXPECT_EQ(notifs, si.notifs);
	EXPECT_EQ(copied_bytes, si.copied_bytes);
	EXPECT_EQ(zc_bytes, si.zc_bytes);
	EXPECT_EQ(variant->copied ? total : 0, si.copied_bytes);
	EXPECT_EQ(variant->copied ? 0 : total, si.zc_bytes);
	EXPECT_EQ(0U, si.bpf_drops);
	EXPECT_EQ(0U, si.inflight);
	EXPECT_EQ(0U, si.bufs_sending);
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(0U, si.resv[i]);
	EXPECT_EQ(sends + eagain, st.ops[UNIFIED_IO_OP_SEND]);
	EXPECT_EQ(eagain, st.errors);
	EXPECT_EQ((__u32)DATA_NBUFS, st.bufs_app);
	for (int i = 0; i < DATA_NBUFS; i++) {
		expect_buf(r, bufs[i], OWNER, UNIFIED_IO_BUF_APP, 1);
		EXPECT_EQ(0, ut_free(r, OWNER, bufs[i]));
	}
	TH_LOG("%s: %llu bytes in %llu SENDs (%llu partial, %llu EAGAIN)",
	       variant->kind ?: "lo", (unsigned long long)total,
	       (unsigned long long)sends, (unsigned long long)partial,
	       (unsigned long long)eagain);
}

/* SEND_F_MORE on every SEND but the last: the same bytes arrive. */
TEST_F_TIMEOUT(sdata, f_more, 120)
{
	struct ut_region *r = &self->r;
	struct rxv v = { .fd = self->peer, .seed = SEED_STREAM };
	struct unified_io_desc d;
	struct unified_io_cqe c;
	__u64 buf;

	ASSERT_EQ(DATA_BUF, ut_alloc(r, OWNER, &buf));
	fill(r, buf, DATA_BUF, SEED_STREAM, 0);
	for (int i = 0; i < 4; i++) {
		__u32 len = DATA_BUF / 4;

		prep_send(&d, self->s, OWNER, buf + i * len, len,
			  i < 3 ? UNIFIED_IO_SEND_F_MORE : 0, UD(i));
		ASSERT_EQ((int)len, do_send(r, &d, false, &c));
	}
	ASSERT_EQ(0, rx_until(&v, DATA_BUF, false, 10000));
	EXPECT_EQ(0U, v.bad);
	for (int i = 0; i < 4; i++)
		wait_notif(r, UD(i), buf + i * (DATA_BUF / 4), DATA_BUF / 4,
			   variant->copied);
	expect_buf(r, buf, OWNER, UNIFIED_IO_BUF_APP, 1);
}

/* ======================================================================== */
/* inflight: a peer that does not read                                        */
/* ======================================================================== */

#define IF_BUF		(1 << 20)
#define IF_NBUFS	4U
#define IF_PORT		7981
#define IF_RCVBUF	4096
#define IF_SNDBUF	(128 << 10)	/* doubled by the kernel */

FIXTURE(inflight) {
	struct ut_region r;
	int s, peer;
	struct rxv v;		/* the peer's view of the stream */
	__u64 off;		/* stream offset of the next byte sent */
};

static void if_open(struct __test_metadata *_metadata,
			   FIXTURE_DATA(inflight) *self, int sndbuf, __u32 cq)
{
	int ret;

	memset(&bk, 0, sizeof(bk));
	if (!ut_region_create(&self->r, 8, cq, IF_BUF, IF_NBUFS * IF_BUF, 0))
		return;
	ret = tcp_pair(-1, -1, lo_addr(), IF_PORT, IF_RCVBUF, sndbuf, &self->s,
		       &self->peer);
	ASSERT_EQ(0, ret) TH_LOG("TCP pair: %s", strerror(-ret));
	self->v.fd = self->peer;
	self->v.seed = SEED_STREAM;
	ret = block_peer(self->s, SEED_STREAM, &self->off, 1 << 20);
	ASSERT_EQ(0, ret) TH_LOG("closing the peer's window: %s", strerror(-ret));
}

FIXTURE_SETUP(inflight)
{
	self->r.fd = -1;
	self->s = self->peer = -1;
	REQUIRE_SEND();
	if_open(_metadata, self, IF_SNDBUF, 1024);
}

FIXTURE_TEARDOWN(inflight)
{
	if (self->s >= 0)
		close(self->s);
	if (self->peer >= 0)
		close(self->peer);
	ut_region_destroy(&self->r);
}

/*
 * ALLOC a buffer for @owner and fill it with the stream from self->off on,
 * so that SENDs of it from its start continue the stream.
 */
static __u64 __stream_buf(struct __test_metadata *_metadata,
			  FIXTURE_DATA(inflight) *self, __u64 stream_off)
{
	__u64 b;

	ASSERT_EQ(IF_BUF, ut_alloc(&self->r, OWNER, &b));
	fill(&self->r, b, IF_BUF, SEED_STREAM, stream_off);
	return b;
}

#define stream_buf(off)	__stream_buf(_metadata, self, off)

/* A SEND that must queue all of its @len bytes. */
static void __send_all(struct __test_metadata *_metadata, struct ut_region *r,
		       int s, __u64 addr, __u32 len, __u64 ud, bool sq)
{
	struct unified_io_desc d;
	struct unified_io_cqe c;
	int res;

	prep_send(&d, s, OWNER, addr, len, 0, ud);
	res = do_send(r, &d, sq, &c);
	ASSERT_EQ((int)len, res) TH_LOG("SEND of %u: %d (%s)", len, res,
					strerror(res < 0 ? -res : 0));
}

#define send_all(addr, len, ud, sq)					\
	__send_all(_metadata, &self->r, self->s, addr, len, ud, sq)

TEST_F_TIMEOUT(inflight, refs_and_refusals, 120)
{
	struct ut_region *r = &self->r;
	struct unified_io_send_info si;
	struct unified_io_stats st;
	struct unified_io_desc d;
	struct unified_io_cqe c;
	__u64 a = stream_buf(self->off), got[IF_NBUFS];
	unsigned int ngot = 0;
	int res;

	send_all(a, 1000, UD(1), false);
	expect_buf(r, a, OWNER, UNIFIED_IO_BUF_SENDING, 2);
	ASSERT_EQ(0, send_info(r, &si, &st));
	EXPECT_EQ(1U, si.inflight);
	EXPECT_EQ(1U, si.bufs_sending);
	EXPECT_EQ(1U, si.sends);
	EXPECT_EQ(1000U, si.send_bytes);
	EXPECT_EQ(0U, si.notifs);
	EXPECT_EQ(1U, st.bufs_app);

	send_all(a + 1000, 1000, UD(2), true);
	expect_buf(r, a, OWNER, UNIFIED_IO_BUF_SENDING, 3);
	ASSERT_EQ(0, send_info(r, &si, NULL));
	EXPECT_EQ(2U, si.inflight);
	EXPECT_EQ(1U, si.bufs_sending);
	usleep(100000);
	book_pull(&r->q);
	EXPECT_EQ(0U, bk.n) TH_LOG("a notification while the peer holds back");

	/* FREE, BPF, SEND | F_BPF: EBUSY (before ENOENT: no program). */
	EXPECT_EQ(-EBUSY, ut_free(r, OWNER, a));
	memset(&d, 0, sizeof(d));
	unio_prep_bpf(&d, OWNER, a, 100, 0xb0);
	res = ut_do(r, &d, &c);
	EXPECT_EQ(-EBUSY, res) TH_LOG("BPF of a SENDING buffer: %d", res);
	prep_send(&d, self->s, OWNER, a, 100, UNIFIED_IO_SEND_F_BPF, UD(3));
	res = do_send(r, &d, false, &c);
	EXPECT_EQ(-EBUSY, res) TH_LOG("SEND|F_BPF of a SENDING buffer: %d", res);
	/* Another owner: EPERM for FREE and SEND, as for a held buffer. */
	EXPECT_EQ(-EPERM, ut_free(r, OTHER, a));
	prep_send(&d, self->s, OTHER, a, 100, 0, UD(4));
	EXPECT_EQ(-EPERM, do_send(r, &d, false, &c));
	expect_buf(r, a, OWNER, UNIFIED_IO_BUF_SENDING, 3);

	/* ALLOC hands out every other buffer, never this one. */
	for (;;) {
		__u64 off;

		res = ut_alloc(r, OTHER, &off);
		if (res == -ENOBUFS)
			break;
		ASSERT_EQ(IF_BUF, res);
		EXPECT_NE(a, off);
		ASSERT_GT(IF_NBUFS, ngot);
		got[ngot++] = off;
	}
	EXPECT_EQ(IF_NBUFS - 1, ngot);
	for (unsigned int i = 0; i < ngot; i++)
		EXPECT_EQ(0, ut_free(r, OTHER, got[i]));
	ASSERT_EQ(0, send_info(r, &si, &st));
	EXPECT_EQ(2U, si.inflight);
	EXPECT_EQ(2U, si.sends);
	EXPECT_EQ(0U, si.notifs);
	EXPECT_EQ((__u32)IF_NBUFS - 1, st.bufs_free);
	EXPECT_EQ(1U, st.bufs_app);
	expect_buf(r, a, OWNER, UNIFIED_IO_BUF_SENDING, 3);

	/* The peer reads: every byte, then both notifications. */
	ASSERT_EQ(0, rx_until(&self->v, self->off + 2000, false, 20000));
	EXPECT_EQ(0U, self->v.bad) TH_LOG("byte %llu", (unsigned long long)self->v.bad - 1);
	wait_notif(r, UD(1), a, 1000, 1);
	wait_notif(r, UD(2), a + 1000, 1000, 1);
	expect_buf(r, a, OWNER, UNIFIED_IO_BUF_APP, 1);
	ASSERT_EQ(0, send_info(r, &si, &st));
	EXPECT_EQ(0U, si.inflight);
	EXPECT_EQ(0U, si.bufs_sending);
	EXPECT_EQ(2U, si.notifs);
	EXPECT_EQ(2000U, si.copied_bytes);
	EXPECT_EQ(0U, si.zc_bytes);
	EXPECT_EQ(0, ut_free(r, OWNER, a));
	expect_buf(r, a, 0, UNIFIED_IO_BUF_FREE, 0);
	expect_quiet(r, 50);
}

/*
 * RECV never lands in a buffer being sent: with every other buffer held,
 * a RECV that must copy finds none (ENOBUFS) and leaves the sending one as
 * it was; once another is freed, the bytes go there.
 */
TEST_F_TIMEOUT(inflight, recv_never_lands, 120)
{
	struct ut_region *r = &self->r;
	struct unified_io_desc d;
	struct unified_io_cqe c, *cqe;
	__u64 a = stream_buf(self->off), got[IF_NBUFS];
	unsigned int ngot = 0;
	char msg[100];
	int tx, rx, res;

	send_all(a, 1000, UD(1), false);
	expect_buf(r, a, OWNER, UNIFIED_IO_BUF_SENDING, 2);
	while (ut_alloc(r, OTHER, &got[ngot]) == IF_BUF)
		ASSERT_GT(IF_NBUFS, ++ngot);
	ASSERT_EQ(IF_NBUFS - 1, ngot);

	/* 100 bytes queued on another connection, copied by RECV. */
	res = tcp_pair(-1, -1, lo_addr(), IF_PORT + 1, 0, 0, &tx, &rx);
	ASSERT_EQ(0, res) TH_LOG("TCP pair: %s", strerror(-res));
	memset(msg, 0x5a, sizeof(msg));
	ASSERT_EQ((ssize_t)sizeof(msg), write(tx, msg, sizeof(msg)));
	ASSERT_EQ((long)sizeof(msg), nt_wait_inq(rx, sizeof(msg), 5000));
	memset(&d, 0, sizeof(d));
	unio_prep_recv(&d, rx, OTHER, 0, 0, UD(2));
	res = ut_do(r, &d, &c);
	EXPECT_EQ(-ENOBUFS, res) TH_LOG("RECV with only a SENDING buffer: %d", res);
	expect_buf(r, a, OWNER, UNIFIED_IO_BUF_SENDING, 2);
	EXPECT_EQ((long)sizeof(msg), nt_inq(rx));

	/* One buffer free again: RECV takes it, not the sending one. */
	ASSERT_EQ(0, ut_free(r, OTHER, got[--ngot]));
	ASSERT_EQ(1, ut_submit_inline(r->fd, &d));
	cqe = unio_peek_cqe(&r->q);
	ASSERT_NE(NULL, cqe);
	EXPECT_NE(0U, cqe->flags & UNIFIED_IO_CQE_F_MORE);
	EXPECT_EQ((int)sizeof(msg), cqe->res);
	EXPECT_EQ(got[ngot], cqe->addr);
	EXPECT_NE(a, cqe->addr);
	EXPECT_EQ(0, memcmp(msg, r->map + r->l.data_off + cqe->addr, sizeof(msg)));
	unio_cqe_seen(&r->q);
	cqe = unio_peek_cqe(&r->q);
	ASSERT_NE(NULL, cqe);
	EXPECT_EQ((int)sizeof(msg), cqe->res);
	unio_cqe_seen(&r->q);
	ngot++;		/* held again, by RECV */
	expect_buf(r, a, OWNER, UNIFIED_IO_BUF_SENDING, 2);
	for (unsigned int i = 0; i < ngot; i++)
		EXPECT_EQ(0, ut_free(r, OTHER, got[i]));
	close(tx);
	close(rx);

	/* The sent bytes arrive intact, and the notification. */
	ASSERT_EQ(0, rx_until(&self->v, self->off + 1000, false, 20000));
	EXPECT_EQ(0U, self->v.bad) TH_LOG("byte %llu", (unsigned long long)self->v.bad - 1);
	wait_notif(r, UD(1), a, 1000, 1);
	expect_buf(r, a, OWNER, UNIFIED_IO_BUF_APP, 1);
	EXPECT_EQ(0, ut_free(r, OWNER, a));
}

TEST_F_TIMEOUT(inflight, partial_then_eagain, 120)
{
	struct ut_region *r = &self->r;
	__u64 b = stream_buf(self->off), done = 0, uds = 0, sends_eagain = 0;
	struct { __u64 addr; int res; } q[256];
	struct unified_io_send_info si;
	struct unified_io_desc d;
	struct unified_io_cqe c;
	struct snap sn;
	int res;

	/* Bigger than the send buffer: part is queued. */
	prep_send(&d, self->s, OWNER, b, IF_BUF, 0, UD(0));
	res = do_send(r, &d, false, &c);
	ASSERT_LT(0, res) TH_LOG("%d (%s)", res, strerror(res < 0 ? -res : 0));
	ASSERT_GT(IF_BUF, res) TH_LOG("a 1 MiB SEND fitted a %d-byte send buffer",
				      2 * IF_SNDBUF);
	q[uds].addr = b;
	q[uds++].res = res;
	done = res;
	/* The rest until EAGAIN (a little may still fit). */
	for (;;) {
		prep_send(&d, self->s, OWNER, b + done, IF_BUF - done, 0, UD(uds));
		snap_take(r, &sn);
		res = do_send(r, &d, uds & 1, &c);
		if (res == -EAGAIN)
			break;
		ASSERT_LT(0, res) TH_LOG("%d (%s)", res, strerror(-res));
		ASSERT_GT(200U, uds) TH_LOG("never EAGAIN");
		q[uds].addr = b + done;
		q[uds++].res = res;
		done += res;
		ASSERT_GT((__u64)IF_BUF, done);
	}
	/* EAGAIN: no flag, nothing changed, no notification. */
	EXPECT_EQ(0U, c.flags);
	snap_refused(r, &sn, 1, 1);
	expect_buf(r, b, OWNER, UNIFIED_IO_BUF_SENDING, 1 + uds);
	expect_quiet(r, 100);
	sends_eagain = 1;

	/* The peer reads; the rest goes as POLLOUT allows. */
	while (done < IF_BUF) {
		struct pollfd pfd = { .fd = self->s, .events = POLLOUT };

		ASSERT_LE(0, rx_some(&self->v, ~0ULL));
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		prep_send(&d, self->s, OWNER, b + done, IF_BUF - done, 0, UD(uds));
		res = do_send(r, &d, false, &c);
		if (res == -EAGAIN) {
			sends_eagain++;
			continue;
		}
		ASSERT_LT(0, res) TH_LOG("%d (%s)", res, strerror(-res));
		ASSERT_GT(UT_ARRAY_SIZE(q), uds);
		q[uds].addr = b + done;
		q[uds++].res = res;
		done += res;
	}
	ASSERT_EQ(0, rx_until(&self->v, self->off + IF_BUF, false, 20000));
	EXPECT_EQ(0U, self->v.bad) TH_LOG("byte %llu", (unsigned long long)self->v.bad - 1);
	for (__u64 i = 0; i < uds; i++)
		wait_notif(r, UD(i), q[i].addr, q[i].res, 1);
	expect_buf(r, b, OWNER, UNIFIED_IO_BUF_APP, 1);
	ASSERT_EQ(0, send_info(r, &si, NULL));
	EXPECT_EQ(uds, si.sends);
	EXPECT_EQ(uds, si.notifs);
	EXPECT_EQ((__u64)IF_BUF, si.send_bytes);
	EXPECT_EQ(0U, si.inflight);
	EXPECT_EQ(0U, si.bufs_sending);
	TH_LOG("1 MiB in %llu SENDs, %llu EAGAIN", (unsigned long long)uds,
	       (unsigned long long)sends_eagain);
	EXPECT_EQ(0, ut_free(r, OWNER, b));
}

/*
 * With k sends in flight, k CQ slots are reserved for their notifications:
 * NOPs fill all but those; a SEND needs two more beyond them.
 */
TEST_F_TIMEOUT(inflight, cq_reserves_notification_slots, 120)
{
	struct ut_region *r = &self->r;
	__u32 cq = r->l.cq.ring_entries, nops = 0;
	struct unified_io_desc d, nop;
	struct unified_io_cqe c;
	__u64 a = stream_buf(self->off);
	const int k = 3;
	int ret;

	for (int i = 0; i < k; i++)
		send_all(a + i * 100, 100, UD(i), false);
	unio_prep_nop(&nop, 0x909);
	while ((ret = ut_submit_inline(r->fd, &nop)) == 1)
		ASSERT_GE(cq, ++nops);
	EXPECT_EQ(-EBUSY, ret);
	EXPECT_EQ(cq - k, nops) TH_LOG("NOPs took slots reserved for notifications");
	EXPECT_EQ(nops, unio_cq_ready(&r->q));

	/* One slot free beyond the reserved ones: a SEND does not fit. */
	unio_cq_advance(&r->q, 1);
	prep_send(&d, self->s, OWNER, a + k * 100, 100, 0, UD(k));
	EXPECT_EQ(-EBUSY, ut_submit_inline(r->fd, &d));
	/* Two: it does. */
	unio_cq_advance(&r->q, 1);
	ASSERT_EQ(1, ut_submit_inline(r->fd, &d));
	ASSERT_EQ(nops - 1, unio_cq_ready(&r->q));
	unio_cq_advance(&r->q, nops - 2);
	c = *unio_peek_cqe(&r->q);
	unio_cqe_seen(&r->q);
	EXPECT_EQ(UD(k), c.user_data);
	EXPECT_EQ(100, c.res);
	EXPECT_EQ(F_MORE, c.flags);
	/* k + 1 in flight now, and every slot but those taken. */
	for (nops = 0; (ret = ut_submit_inline(r->fd, &nop)) == 1; nops++)
		ASSERT_GE(cq, nops);
	EXPECT_EQ(cq - k - 1, nops);
	unio_cq_advance(&r->q, nops);

	ASSERT_EQ(0, rx_until(&self->v, self->off + (k + 1) * 100, false, 20000));
	EXPECT_EQ(0U, self->v.bad);
	for (int i = 0; i <= k; i++)
		wait_notif(r, UD(i), a + i * 100, 100, 1);
	expect_buf(r, a, OWNER, UNIFIED_IO_BUF_APP, 1);
}

/* 254 sends in flight of one buffer; the 255th is ETOOMANYREFS. */
TEST_F_TIMEOUT(inflight, too_many_refs, 300)
{
	struct ut_region *r = &self->r;
	struct unified_io_desc d;
	struct unified_io_cqe c;
	struct snap sn;
	__u64 a;
	int res;

	/* A send buffer that holds 255 small skbs. */
	close(self->s);
	close(self->peer);
	ut_region_destroy(&self->r);
	self->off = 0;
	if_open(_metadata, self, 16 << 20, 1024);
	r = &self->r;
	a = stream_buf(self->off);
	for (int i = 0; i < 254; i++) {
		prep_send(&d, self->s, OWNER, a + i, 1, 0, UD(i));
		res = do_send(r, &d, false, &c);
		ASSERT_EQ(1, res) TH_LOG("SEND %d: %d (%s)", i, res,
					 strerror(res < 0 ? -res : 0));
	}
	expect_buf(r, a, OWNER, UNIFIED_IO_BUF_SENDING, 255);
	prep_send(&d, self->s, OWNER, a + 254, 1, 0, UD(254));
	snap_take(r, &sn);
	res = do_send(r, &d, false, &c);
	EXPECT_EQ(-ETOOMANYREFS, res) TH_LOG("%d (%s)", res, strerror(-res));
	snap_refused(r, &sn, 1, 1);

	ASSERT_EQ(0, rx_until(&self->v, self->off + 254, false, 30000));
	EXPECT_EQ(0U, self->v.bad);
	for (int i = 0; i < 254; i++)
		wait_notif(r, UD(i), a + i, 1, 1);
	expect_buf(r, a, OWNER, UNIFIED_IO_BUF_APP, 1);
	/* Now it goes. */
	send_all(a + 254, 1, UD(300), false);
	ASSERT_EQ(0, rx_until(&self->v, self->off + 255, false, 10000));
	EXPECT_EQ(0U, self->v.bad);
	wait_notif(r, UD(300), a + 254, 1, 1);
}

/* ======================================================================== */
/* slife: lifetimes with sends in flight                                      */
/* ======================================================================== */

#define LF_BUF		(64 << 10)
#define LF_NBUFS	8
#define LF_PORT		7991
/*
 * The peer's closed window makes TCP cut segments of a few KiB, each
 * charged a page or more: room for the sends in flight.
 */
#define LF_SNDBUF	(2 << 20)

FIXTURE(slife) {
	struct ut_region r;
	int s, peer;
	struct rxv v;
	__u64 off;
	int refcnt0;
	__u64 addrs[16];	/* of the sends in flight */
};

FIXTURE_SETUP(slife)
{
	int ret;

	self->r.fd = -1;
	self->s = self->peer = -1;
	REQUIRE_SEND();
	/* Page pools or sends of an earlier test may still be going away. */
	self->refcnt0 = nl_module_refcnt("unified_io");
	if (self->refcnt0 < 0)
		SKIP(return, "no /sys/module/unified_io/refcnt (built in?)");
	for (int i = 0; i < 100 && self->refcnt0 > 0; i++) {
		usleep(50000);
		self->refcnt0 = nl_module_refcnt("unified_io");
	}
	memset(&bk, 0, sizeof(bk));
	if (!ut_region_create(&self->r, 8, 64, LF_BUF, LF_NBUFS * LF_BUF, 0))
		return;
	ret = tcp_pair(-1, -1, lo_addr(), LF_PORT, IF_RCVBUF, LF_SNDBUF,
		       &self->s, &self->peer);
	ASSERT_EQ(0, ret) TH_LOG("TCP pair: %s", strerror(-ret));
	self->v.fd = self->peer;
	self->v.seed = SEED_STREAM;
	ret = block_peer(self->s, SEED_STREAM, &self->off, 1 << 20);
	ASSERT_EQ(0, ret) TH_LOG("closing the peer's window: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(slife)
{
	if (self->s >= 0)
		close(self->s);
	if (self->peer >= 0)
		close(self->peer);
	ut_region_destroy(&self->r);
}

/*
 * @n SENDs of LF_BUF / 2 bytes each from consecutive buffers' halves (the
 * stream goes on from self->off), all left in flight. Returns the bytes.
 */
static __u64 __sends_in_flight(struct __test_metadata *_metadata,
			       FIXTURE_DATA(slife) *self, int n)
{
	struct ut_region *r = &self->r;
	struct unified_io_send_info si;
	__u64 so = self->off, b = 0;
	int res;

	for (int i = 0; i < n; i++) {
		struct unified_io_desc d;
		struct unified_io_cqe c;
		__u32 len = LF_BUF / 2;

		if (!(i & 1)) {
			ASSERT_EQ(LF_BUF, ut_alloc(r, OWNER, &b));
			fill(r, b, LF_BUF, SEED_STREAM, so);
		}
		ASSERT_GT(UT_ARRAY_SIZE(self->addrs), (unsigned int)i);
		self->addrs[i] = b + (i & 1) * len;
		prep_send(&d, self->s, OWNER, self->addrs[i], len, 0, UD(i));
		res = do_send(r, &d, i & 1, &c);
		if (res != (int)len)
			sock_diag(self->s);
		ASSERT_EQ((int)len, res) TH_LOG("SEND %d", i);
		so += len;
	}
	ASSERT_EQ(0, send_info(r, &si, NULL));
	EXPECT_EQ((__u32)n, si.inflight) TH_LOG("sends not in flight: the test proves nothing");
	EXPECT_EQ((__u32)(n + 1) / 2, si.bufs_sending);
	return so - self->off;
}

#define sends_in_flight(n)	__sends_in_flight(_metadata, self, n)

/* The module's reference count back to where it was. */
static void __expect_refcnt_back(struct __test_metadata *_metadata, int want,
				 int timeout_ms)
{
	uint64_t end = nl_now_ms() + timeout_ms;
	int now;

	while ((now = nl_module_refcnt("unified_io")) != want &&
	       nl_now_ms() < end) {
		nl_kick_cpus();
		usleep(50000);
	}
	EXPECT_EQ(want, now) TH_LOG("unified_io references after %d ms", timeout_ms);
}

#define expect_refcnt_back(ms)	__expect_refcnt_back(_metadata, self->refcnt0, ms)

static void __close_region_test(struct __test_metadata *_metadata,
				FIXTURE_DATA(slife) *self, bool unmap_first)
{
	__u64 bytes = sends_in_flight(6);

	if (unmap_first) {
		ASSERT_EQ(0, munmap(self->r.map, self->r.map_len));
		self->r.map = NULL;
		ASSERT_EQ(0, close(self->r.fd));
		self->r.fd = -1;
	} else {
		ASSERT_EQ(0, close(self->r.fd));
		self->r.fd = -1;
		ASSERT_EQ(0, munmap(self->r.map, self->r.map_len));
		self->r.map = NULL;
	}
	/* The stack still holds the pages: the bytes arrive intact. */
	ASSERT_EQ(0, rx_until(&self->v, self->off + bytes, false, 20000));
	EXPECT_EQ(0U, self->v.bad) TH_LOG("byte %llu", (unsigned long long)self->v.bad - 1);
	close(self->s);
	self->s = -1;
	ASSERT_EQ(0, rx_until(&self->v, self->off + bytes, true, 10000));
	expect_refcnt_back(5000);
}

TEST_F_TIMEOUT(slife, close_then_unmap_in_flight, 120)
{
	__close_region_test(_metadata, self, false);
}

TEST_F_TIMEOUT(slife, unmap_then_close_in_flight, 120)
{
	__close_region_test(_metadata, self, true);
}

TEST_F_TIMEOUT(slife, close_socket_in_flight, 120)
{
	struct ut_region *r = &self->r;
	struct unified_io_send_info si;
	__u64 bytes = sends_in_flight(4);

	ASSERT_EQ(0, close(self->s));
	self->s = -1;
	usleep(100000);
	/* The socket lingers in the stack with the bytes until the peer reads. */
	ASSERT_EQ(0, send_info(r, &si, NULL));
	EXPECT_EQ(4U, si.inflight);
	ASSERT_EQ(0, rx_until(&self->v, self->off + bytes, true, 20000));
	EXPECT_EQ(0U, self->v.bad) TH_LOG("byte %llu", (unsigned long long)self->v.bad - 1);
	for (int i = 0; i < 4; i++)
		wait_notif(r, UD(i), self->addrs[i], LF_BUF / 2, 1);
	ASSERT_EQ(0, send_info(r, &si, NULL));
	EXPECT_EQ(0U, si.inflight);
	EXPECT_EQ(0U, si.bufs_sending);
	ut_region_destroy(r);
	expect_refcnt_back(5000);
}

/* The child: its own region, SENDs on the inherited socket, exit. */
static int child_sends(FIXTURE_DATA(slife) *self, __u64 so, int n)
{
	struct ut_region r = { .fd = -1 };
	struct unified_io_setup s;
	struct unified_io_info info;
	__u64 b = 0;

	r.fd = open(UNIFIED_IO_DEVICE, O_RDWR | O_CLOEXEC);
	if (r.fd < 0)
		return 10;
	ut_setup_init(&s, 8, 64, LF_BUF, LF_NBUFS * LF_BUF, 0);
	if (ut_ioctl(r.fd, UNIFIED_IO_SETUP, &s))
		return 11;
	r.l = s.layout;
	r.map_len = r.l.region_size;
	r.map = mmap(NULL, r.map_len, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd, 0);
	if (r.map == MAP_FAILED)
		return 12;
	ut_region_wire(&r);
	for (int i = 0; i < n; i++) {
		struct unified_io_desc d = {};
		struct unified_io_cqe *c;
		__u32 len = LF_BUF / 2;

		if (!(i & 1)) {
			unio_prep_alloc(&d, OWNER, 1);
			if (ut_submit_inline(r.fd, &d) != 1)
				return 13;
			c = unio_peek_cqe(&r.q);
			if (!c || c->res != LF_BUF)
				return 14;
			b = c->addr;
			unio_cqe_seen(&r.q);
			fill(&r, b, LF_BUF, SEED_STREAM, so);
		}
		prep_send(&d, self->s, OWNER, b + (i & 1) * len, len, 0, UD(i));
		if (ut_submit_inline(r.fd, &d) != 1)
			return 15;
		/* A notification may come first only if the peer read: no. */
		c = unio_peek_cqe(&r.q);
		if (!c || c->user_data != UD(i) || c->res != (int)len)
			return 16;
		unio_cqe_seen(&r.q);
		so += len;
	}
	if (ut_get_info(r.fd, &info) || info.send.inflight != (__u32)n)
		return 17;
	return 0;		/* exit with the region open and mapped */
}

TEST_F_TIMEOUT(slife, child_exits_in_flight, 120)
{
	const int n = 5;
	int status;
	pid_t pid;

	/* The parent's region is not used: only the child's. */
	ut_region_destroy(&self->r);
	fflush(stdout);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(child_sends(self, self->off, n));
	close(self->s);
	self->s = -1;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("child step %d failed",
						 WEXITSTATUS(status));
	/* The child is gone with its region; the bytes still arrive intact. */
	ASSERT_EQ(0, rx_until(&self->v, self->off + n * (LF_BUF / 2), true, 20000));
	EXPECT_EQ(0U, self->v.bad) TH_LOG("byte %llu", (unsigned long long)self->v.bad - 1);
	expect_refcnt_back(5000);
}

/* ======================================================================== */
/* sbpf: the chain before the send                                            */
/* ======================================================================== */

#define BP_BUF		16384
#define BP_NBUFS	8
#define BP_PORT		8001
#define BP_XOR		0x5a

FIXTURE(sbpf) {
	struct ut_region r;
	int s, peer;
	struct rxv v;
	struct ut_send_bpf *skel;
};

FIXTURE_SETUP(sbpf)
{
	int ret;

	self->r.fd = -1;
	self->s = self->peer = -1;
	REQUIRE_SEND();
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		SKIP(return, "kernel without BTF (the debug kernel has no debug info)");
	memset(&bk, 0, sizeof(bk));
	if (!ut_region_create(&self->r, 8, 64, BP_BUF, BP_NBUFS * BP_BUF, 0))
		return;
	ret = tcp_pair(-1, -1, lo_addr(), BP_PORT, 0, 0, &self->s, &self->peer);
	ASSERT_EQ(0, ret) TH_LOG("TCP pair: %s", strerror(-ret));
	self->v.fd = self->peer;
	self->v.seed = SEED_STREAM;
	self->skel = ut_send_bpf__open_and_load();
	ASSERT_NE(NULL, self->skel) TH_LOG("loading progs/ut_send.bpf.c: %s",
					   strerror(errno));
}

FIXTURE_TEARDOWN(sbpf)
{
	if (self->s >= 0)
		close(self->s);
	if (self->peer >= 0)
		close(self->peer);
	ut_region_destroy(&self->r);
	if (self->skel)
		ut_send_bpf__destroy(self->skel);
}

static int attach(int fd, struct bpf_program *prog)
{
	struct unified_io_bpf b = {
		.size = sizeof(b),
		.prog_fd = bpf_program__fd(prog),
	};

	return ioctl(fd, UNIFIED_IO_ATTACH_BPF, &b) ? -errno : 0;
}

TEST_F(sbpf, xor_before_send)
{
	struct ut_region *r = &self->r;
	struct unified_io_send_info si;
	struct unified_io_info info;
	struct unified_io_desc d;
	struct unified_io_cqe c;
	__u64 b;
	__u8 *p;

	ASSERT_EQ(0, attach(r->fd, self->skel->progs.ut_send_xor));
	ASSERT_EQ(BP_BUF, ut_alloc(r, OWNER, &b));
	fill(r, b, BP_BUF, SEED_STREAM, 0);
	prep_send(&d, self->s, OWNER, b, BP_BUF, UNIFIED_IO_SEND_F_BPF, UD(1));
	ASSERT_EQ(BP_BUF, do_send(r, &d, false, &c));
	EXPECT_EQ(F_MORE | F_BPF_RAN, c.flags);
	self->v.xor = BP_XOR;
	self->v.xor_from = 0;
	self->v.xor_to = BP_BUF;
	ASSERT_EQ(0, rx_until(&self->v, BP_BUF, false, 10000));
	EXPECT_EQ(0U, self->v.bad) TH_LOG("byte %llu not transformed",
					  (unsigned long long)self->v.bad - 1);
	wait_notif(r, UD(1), b, BP_BUF, 1);
	EXPECT_EQ(1U, self->skel->bss->xor_runs);
	EXPECT_EQ((__u64)BP_BUF, self->skel->bss->xor_bytes);
	/* In place: the buffer holds what was sent. */
	p = (__u8 *)r->q.data + b;
	for (__u32 i = 0; i < BP_BUF; i++)
		if (p[i] != (ut_pattern(SEED_STREAM, i) ^ BP_XOR)) {
			EXPECT_EQ(ut_pattern(SEED_STREAM, i) ^ BP_XOR, p[i])
				TH_LOG("buffer byte %u", i);
			break;
		}
	ASSERT_EQ(0, ut_get_info(r->fd, &info));
	EXPECT_EQ(1U, info.nr_bpf_progs);
	EXPECT_EQ(1U, info.bpf_progs[0].runs);
	EXPECT_EQ(1U, info.bpf_progs[0].pass);

	/* A shorter F_BPF SEND runs the chain over its bytes only. */
	prep_send(&d, self->s, OWNER, b, 1000, UNIFIED_IO_SEND_F_BPF, UD(2));
	ASSERT_EQ(1000, do_send(r, &d, true, &c));
	self->v.xor_from = BP_BUF;	/* XORed twice: the pattern again */
	self->v.xor_to = BP_BUF;
	self->v.seed = SEED_STREAM;
	{
		/* Stream offsets restart at 0 for these bytes: read them raw. */
		__u8 buf[1000];
		uint64_t end = nl_now_ms() + 10000;
		size_t got = 0;

		while (got < sizeof(buf) && nl_now_ms() < end) {
			ssize_t n = recv(self->peer, buf + got, sizeof(buf) - got,
					 MSG_DONTWAIT);

			if (n > 0)
				got += n;
			else
				usleep(5000);
		}
		ASSERT_EQ(sizeof(buf), got);
		for (__u32 i = 0; i < 1000; i++)
			if (buf[i] != ut_pattern(SEED_STREAM, i)) {
				EXPECT_EQ(ut_pattern(SEED_STREAM, i), buf[i])
					TH_LOG("byte %u of the second send", i);
				break;
			}
	}
	wait_notif(r, UD(2), b, 1000, 1);
	EXPECT_EQ(2U, self->skel->bss->xor_runs);
	EXPECT_EQ((__u64)BP_BUF + 1000, self->skel->bss->xor_bytes);

	/* Without F_BPF the program does not run. */
	prep_send(&d, self->s, OWNER, b + 1000, 1000, 0, UD(3));
	ASSERT_EQ(1000, do_send(r, &d, false, &c));
	wait_notif(r, UD(3), b + 1000, 1000, 1);
	EXPECT_EQ(2U, self->skel->bss->xor_runs);
	ASSERT_EQ(0, send_info(r, &si, NULL));
	EXPECT_EQ(3U, si.sends);
	EXPECT_EQ((__u64)BP_BUF + 2000, si.send_bytes);
	EXPECT_EQ(0U, si.bpf_drops);
}

TEST_F(sbpf, drop_sends_nothing)
{
	struct ut_region *r = &self->r;
	struct unified_io_send_info si;
	struct unified_io_info info;
	struct unified_io_desc d;
	struct unified_io_cqe c;
	__u64 a, b;
	int res;

	ASSERT_EQ(0, attach(r->fd, self->skel->progs.ut_send_drop_ff));
	ASSERT_EQ(BP_BUF, ut_alloc(r, OWNER, &a));
	ASSERT_EQ(BP_BUF, ut_alloc(r, OWNER, &b));
	fill(r, b, BP_BUF, SEED_STREAM, 0);
	ASSERT_NE(0xff, ((__u8 *)r->q.data)[b]);
	memset((__u8 *)r->q.data + a, 0xff, BP_BUF);

	prep_send(&d, self->s, OWNER, a, BP_BUF, UNIFIED_IO_SEND_F_BPF, UD(1));
	res = do_send(r, &d, false, &c);
	EXPECT_EQ(0, res);
	EXPECT_EQ((__u32)F_BPF_DROP, c.flags) TH_LOG("flags %#x", c.flags);
	EXPECT_EQ(0U, c.flags >> UNIFIED_IO_CQE_BPF_PROG_SHIFT & 0xff);
	expect_quiet(r, 100);
	EXPECT_EQ(0, nt_inq(self->peer)) TH_LOG("a dropped buffer reached the peer");
	expect_buf(r, a, OWNER, UNIFIED_IO_BUF_APP, 1);
	ASSERT_EQ(0, send_info(r, &si, NULL));
	EXPECT_EQ(0U, si.sends);
	EXPECT_EQ(0U, si.send_bytes);
	EXPECT_EQ(1U, si.bpf_drops);
	EXPECT_EQ(0U, si.inflight);
	EXPECT_EQ(0U, si.bufs_sending);
	EXPECT_EQ(1U, self->skel->bss->drop_drops);

	/* The other buffer passes and is sent whole. */
	prep_send(&d, self->s, OWNER, b, BP_BUF, UNIFIED_IO_SEND_F_BPF, UD(2));
	ASSERT_EQ(BP_BUF, do_send(r, &d, true, &c));
	ASSERT_EQ(0, rx_until(&self->v, BP_BUF, false, 10000));
	EXPECT_EQ(0U, self->v.bad);
	wait_notif(r, UD(2), b, BP_BUF, 1);
	EXPECT_EQ(2U, self->skel->bss->drop_runs);
	EXPECT_EQ(1U, self->skel->bss->drop_drops);
	ASSERT_EQ(0, ut_get_info(r->fd, &info));
	EXPECT_EQ(1U, info.send.sends);
	EXPECT_EQ(1U, info.send.bpf_drops);
	EXPECT_EQ(1U, info.bpf_progs[0].drop);
	EXPECT_EQ(1U, info.bpf_progs[0].pass);
	/* Dropped buffer free to go. */
	EXPECT_EQ(0, ut_free(r, OWNER, a));
}

TEST_F(sbpf, adjust_tail_shortens)
{
	struct ut_region *r = &self->r;
	struct unified_io_send_info si;
	struct unified_io_desc d;
	struct unified_io_cqe c;
	const int trim = 1000;
	__u64 b;
	char x;

	self->skel->bss->trim_by = trim;
	ASSERT_EQ(0, attach(r->fd, self->skel->progs.ut_send_trim));
	ASSERT_EQ(BP_BUF, ut_alloc(r, OWNER, &b));
	fill(r, b, BP_BUF, SEED_STREAM, 0);
	prep_send(&d, self->s, OWNER, b, BP_BUF, UNIFIED_IO_SEND_F_BPF, UD(1));
	ASSERT_EQ(BP_BUF - trim, do_send(r, &d, false, &c));
	EXPECT_EQ(F_MORE | F_BPF_RAN, c.flags);
	EXPECT_EQ(0, self->skel->bss->trim_ret);
	EXPECT_EQ(1U, self->skel->bss->trim_runs);
	ASSERT_EQ(0, rx_until(&self->v, BP_BUF - trim, false, 10000));
	EXPECT_EQ(0U, self->v.bad);
	wait_notif(r, UD(1), b, BP_BUF - trim, 1);
	usleep(50000);
	EXPECT_EQ(-1, recv(self->peer, &x, 1, MSG_DONTWAIT)) TH_LOG("more bytes than the program left");
	ASSERT_EQ(0, send_info(r, &si, NULL));
	EXPECT_EQ(1U, si.sends);
	EXPECT_EQ((__u64)(BP_BUF - trim), si.send_bytes);
	EXPECT_EQ((__u64)(BP_BUF - trim), si.copied_bytes);

	/* Shortened to nothing: no bytes, no notification. */
	self->skel->bss->trim_by = BP_BUF;
	prep_send(&d, self->s, OWNER, b, BP_BUF, UNIFIED_IO_SEND_F_BPF, UD(2));
	memset(&c, 0, sizeof(c));
	{
		int res = do_send(r, &d, false, &c);

		TH_LOG("trimmed to nothing: res %d flags %#x trim_ret %ld", res,
		       c.flags, self->skel->bss->trim_ret);
		/* bpf_xdp_adjust_tail refuses to empty the frame. */
		EXPECT_NE(0, self->skel->bss->trim_ret);
		EXPECT_EQ(BP_BUF, res);
		wait_notif(r, UD(2), b, BP_BUF, 1);
	}
}

/* The buffer at @addr still holds the stream from @so (ut_pattern). */
static long pattern_diff(struct ut_region *r, __u64 addr, __u32 len, __u64 so)
{
	const __u8 *p = (__u8 *)r->q.data + addr;

	for (__u32 i = 0; i < len; i++)
		if (p[i] != ut_pattern(SEED_STREAM, so + i))
			return i;
	return -1;
}

/*
 * The programs change the bytes only for a send that happens: SEND|F_BPF
 * on a socket shut down for writing (EPIPE), on a full send buffer (EAGAIN)
 * and of a buffer with a send in flight (EBUSY) leaves the program unrun
 * and the buffer as it was.
 */
TEST_F_TIMEOUT(sbpf, not_run_unless_sent, 120)
{
	struct ut_region *r = &self->r;
	struct unified_io_desc d;
	struct unified_io_cqe c;
	__u64 a, b, off = 0;
	int t, tp, res, ret;
	size_t more;

	ASSERT_EQ(0, attach(r->fd, self->skel->progs.ut_send_xor));
	ASSERT_EQ(BP_BUF, ut_alloc(r, OWNER, &a));
	ASSERT_EQ(BP_BUF, ut_alloc(r, OWNER, &b));
	fill(r, a, BP_BUF, SEED_STREAM, 0);
	fill(r, b, BP_BUF, SEED_STREAM, 0);

	/* EPIPE. */
	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	prep_send(&d, self->s, OWNER, a, BP_BUF, UNIFIED_IO_SEND_F_BPF, UD(1));
	res = do_send(r, &d, false, &c);
	EXPECT_EQ(-EPIPE, res) TH_LOG("%d (%s)", res, strerror(-res));
	EXPECT_EQ(0U, self->skel->bss->xor_runs);
	EXPECT_EQ(-1, pattern_diff(r, a, BP_BUF, 0));

	/* A peer that does not read, a send in flight of @a. */
	ret = tcp_pair(-1, -1, lo_addr(), BP_PORT + 1, IF_RCVBUF, LF_SNDBUF,
		       &t, &tp);
	ASSERT_EQ(0, ret) TH_LOG("%s", strerror(-ret));
	ASSERT_EQ(0, block_peer(t, SEED_PREFIX, &off, 1 << 20));
	prep_send(&d, t, OWNER, a, 1000, 0, UD(2));
	ASSERT_EQ(1000, do_send(r, &d, false, &c));
	expect_buf(r, a, OWNER, UNIFIED_IO_BUF_SENDING, 2);
	EXPECT_EQ(0U, self->skel->bss->xor_runs);
	/* EBUSY: a program attached, the buffer in flight. */
	prep_send(&d, t, OWNER, a, BP_BUF, UNIFIED_IO_SEND_F_BPF, UD(3));
	res = do_send(r, &d, true, &c);
	EXPECT_EQ(-EBUSY, res) TH_LOG("%d (%s)", res, strerror(-res));
	EXPECT_EQ(0U, self->skel->bss->xor_runs);
	EXPECT_EQ(-1, pattern_diff(r, a, BP_BUF, 0));

	/* EAGAIN: the send buffer full. */
	do {
		more = write_plain(t, SEED_PREFIX, &off, 1 << 20);
		usleep(50000);
	} while (more);
	prep_send(&d, t, OWNER, b, BP_BUF, UNIFIED_IO_SEND_F_BPF, UD(4));
	res = do_send(r, &d, false, &c);
	EXPECT_EQ(-EAGAIN, res) TH_LOG("%d (%s)", res, strerror(-res));
	EXPECT_EQ(0U, self->skel->bss->xor_runs);
	EXPECT_EQ(-1, pattern_diff(r, b, BP_BUF, 0));
	expect_buf(r, b, OWNER, UNIFIED_IO_BUF_APP, 1);
	close(t);
	close(tp);
}

TEST_HARNESS_MAIN
