/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Harness-side helpers of the unified_io network selftests (net_*.c): the
 * SKIP rules (no root, no ip/ethtool, no unio_nic, no NET_RECV or
 * NET_PROVIDER feature), fixture pieces that assert, and a "stream": a
 * listening socket, a sender in the tx namespace and a receive loop over
 * the accepted flows. The helpers that do the work are in net_lib.h and
 * never assert, so they can also run in forked children.
 *
 * Every test creates its own pair of network namespaces (held by fds only),
 * so nothing of a test outlives its process.
 */
#ifndef NET_TEST_H
#define NET_TEST_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ut.h"
#include "net_lib.h"

#define NT_OWNER	0x6e74
#define NT_MIB		(1024ULL * 1024)
#define NT_ZC_QUEUE	1	/* the queue tests bind and steer to */

/*
 * A stream's size: @bytes, or on the debug kernel (UNIFIED_IO_KERNEL_KIND=
 * debug, which tools/vm/run sets; make check's debug pass) a quarter of it
 * but at least @min.  Under TCG with KASAN, lockdep and kmemleak a packet
 * costs milliseconds (kmemleak alone triples it: 24 s for 8 MiB over the
 * test NIC, 8.8 s with kmemleak=off), and volume repeats the same receive
 * path, which the patched kernel's pass runs at full size; @min keeps what
 * the test needs flowing (buffers recycled, the ring wrapped).
 */
static inline uint64_t nt_volume(uint64_t bytes, uint64_t min)
{
	const char *kind = getenv("UNIFIED_IO_KERNEL_KIND");

	if (!kind || strcmp(kind, "debug"))
		return bytes;
	return bytes / 4 > min ? bytes / 4 : min;
}

/* Features of the running module (GET_INFO before SETUP), 0 if none. */
static inline __u32 nt_features(void)
{
	struct unified_io_info info;
	int fd = open(UNIFIED_IO_DEVICE, O_RDWR | O_CLOEXEC);
	__u32 f = 0;

	if (fd < 0)
		return 0;
	if (!ut_get_info(fd, &info))
		f = info.config.features;
	close(fd);
	return f;
}

#define NT_REQUIRE_RECV() do {						\
	UT_REQUIRE_DEVICE();						\
	if (!(nt_features() & UNIFIED_IO_FEAT_NET_RECV))		\
		SKIP(return, "no UNIFIED_IO_FEAT_NET_RECV");		\
} while (0)

#define NT_REQUIRE_PROVIDER() do {					\
	UT_REQUIRE_DEVICE();						\
	if (!(nt_features() & UNIFIED_IO_FEAT_NET_PROVIDER))		\
		SKIP(return, "kernel without UNIFIED_IO_FEAT_NET_PROVIDER "	\
		     "(UNIFIED_IO_KERNEL=%s)",				\
		     getenv("UNIFIED_IO_KERNEL") ?: "?");		\
} while (0)

/*
 * Two namespaces and a link pair of @kind between them; the caller enters
 * the rx namespace. Returns false after SKIP.
 */
static inline bool __nt_pair_create(struct __test_metadata *_metadata,
				    struct nl_pair *p, const char *kind)
{
	char err[256] = "";
	int ret;

	p->ns_orig = p->ns_rx = p->ns_tx = -1;
	if (geteuid())
		SKIP(return false, "needs root");
	if (!nl_have_program("ip") || !nl_have_program("ethtool"))
		SKIP(return false, "needs ip and ethtool");
	if (!strcmp(kind, "unionic")) {
		ret = nl_nic_load(err, sizeof(err));
		if (ret)
			SKIP(return false, "no unio_nic module: %s", err);
	}
	ret = nl_pair_create(p, kind);
	if (ret == -EOPNOTSUPP)
		SKIP(return false, "no %s links: %s", kind, p->err);
	ASSERT_EQ(0, ret) TH_LOG("pair of %s: %s", kind, p->err);
	return true;
}

#define nt_pair_create(p, kind)	__nt_pair_create(_metadata, p, kind)

/* A region of @nr_bufs buffers of @buf_size; false after SKIP. */
static inline bool __nt_region_create(struct __test_metadata *_metadata,
				      struct nl_region *r, __u32 sq, __u32 cq,
				      __u32 buf_size, __u32 nr_bufs)
{
	int ret = nl_region_create(r, sq, cq, buf_size, nr_bufs);

	if (ret == -ENOENT || ret == -ENODEV || ret == -ENXIO)
		SKIP(return false, "%s: %s", UNIFIED_IO_DEVICE, strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("region of %u x %u: %s", nr_bufs, buf_size,
				 strerror(-ret));
	ASSERT_NE(0U, r->rl.ring_entries) TH_LOG("SETUP wrote no refill ring");
	return true;
}

#define nt_region_create(r, sq, cq, bs, n)				\
	__nt_region_create(_metadata, r, sq, cq, bs, n)

static inline void __nt_info(struct __test_metadata *_metadata,
			     const struct nl_region *r,
			     struct unified_io_info *info)
{
	int ret = nl_region_info(r, info);

	ASSERT_EQ(0, ret) TH_LOG("GET_INFO: %s", strerror(-ret));
}

#define nt_info(r, info)	__nt_info(_metadata, r, info)

/* BIND, asserting success and an empty message. */
static inline void __nt_bind(struct __test_metadata *_metadata,
			     struct nl_region *r, int ifindex, __u32 rxq,
			     __u32 nr_bufs)
{
	char msg[64];
	int ret = nl_bind(r, ifindex, rxq, nr_bufs, msg);

	ASSERT_EQ(0, ret) TH_LOG("BIND ifindex %d rxq %u nr_bufs %u: %s (%.64s)",
				 ifindex, rxq, nr_bufs, strerror(-ret), msg);
	ASSERT_EQ(0, msg[0]) TH_LOG("message on success: %.64s", msg);
}

#define nt_bind(r, ifi, q, n)	__nt_bind(_metadata, r, ifi, q, n)

/* A stream: listener, sender, accepted flows, receive loop. */
struct nt_stream {
	struct nl_sender snd;
	int lsock;
	int nr_flows;
	int socks[NL_MAX_FLOWS];
	struct nl_rx rx;
	bool rx_ready;
};

static inline void nt_stream_init(struct nt_stream *st)
{
	memset(st, 0, sizeof(*st));
	st->snd.pid = -1;
	st->lsock = -1;
	for (int i = 0; i < NL_MAX_FLOWS; i++)
		st->socks[i] = -1;
}

/*
 * Listen on rx_addr:@port, start the sender (@flows x @bytes from the tx
 * namespace), accept the flows and set up the receive loop on @r.
 */
static inline void __nt_stream_start(struct __test_metadata *_metadata,
				     struct nt_stream *st, struct nl_pair *p,
				     struct nl_region *r, uint16_t port,
				     int flows, uint64_t bytes, int sndbuf,
				     int rcvbuf)
{
	struct nl_sender_opts o = {
		.nsfd = p->ns_tx,
		.dst = p->rx_addr,
		.dport = port,
		.nr_flows = flows,
		.bytes = bytes,
		.sndbuf = sndbuf,
	};
	int ret;

	nt_stream_init(st);
	st->nr_flows = flows;
	st->lsock = nl_listen_rcvbuf(p->rx_addr, port, rcvbuf);
	ASSERT_LE(0, st->lsock) TH_LOG("listen on %u: %s", port,
				       strerror(-st->lsock));
	ret = nl_sender_start(&st->snd, &o);
	ASSERT_EQ(0, ret) TH_LOG("sender: %s", strerror(-ret));
	ret = nl_accept_flows(st->lsock, flows, st->socks, 30000);
	ASSERT_EQ(0, ret) TH_LOG("accepting %d flows: %s (sender: flow 0 err %d)",
				 flows, strerror(-ret), st->snd.sh->flow[0].err);
	ret = nl_rx_init(&st->rx, r, NT_OWNER, flows, st->socks, bytes);
	ASSERT_EQ(0, ret);
	st->rx_ready = true;
}

#define nt_stream_start(st, p, r, port, flows, bytes)			\
	__nt_stream_start(_metadata, st, p, r, port, flows, bytes, 0, 0)

/*
 * The same with the sender's SO_SNDBUF (@sndbuf: little in flight once it
 * pauses) and the receiver's SO_RCVBUF (@rcvbuf) set where > 0.
 */
#define nt_stream_start_buf(st, p, r, port, flows, bytes, sndbuf, rcvbuf) \
	__nt_stream_start(_metadata, st, p, r, port, flows, bytes, sndbuf, rcvbuf)

/*
 * SO_RCVBUF for sockets fed by a pool of @lent buffers: the kernel doubles
 * it, and once a socket's memory passes that it prunes its out-of-order
 * queue, so at most about half the pool waits there for a retransmission.
 * With the default (autotuned, megabytes) a loss can park the whole pool
 * in that queue for good: see net_bpf.c ofo_exhaustion.
 */
#define NT_RCVBUF(lent)	((int)((lent) * 4096U / 4))

/* Kill the sender, close the sockets, free the loop; safe to repeat. */
static inline void nt_stream_stop(struct nt_stream *st)
{
	nl_sender_kill(&st->snd);
	for (int i = 0; i < NL_MAX_FLOWS; i++) {
		if (st->socks[i] >= 0)
			close(st->socks[i]);
		st->socks[i] = -1;
	}
	if (st->lsock >= 0)
		close(st->lsock);
	st->lsock = -1;
	if (st->rx_ready)
		nl_rx_fini(&st->rx);
	st->rx_ready = false;
}

/* What the region, the sockets and TCP say, for a failure's log. */
static inline void __nt_diag(struct __test_metadata *_metadata,
			     struct nt_stream *st)
{
	static char out[4096];
	struct unified_io_info info;

	if (st->rx.r && !nl_region_info(st->rx.r, &info))
		TH_LOG("net: state %u nr_bufs %u bufs_app %u bufs_nic %u recv %llu zc %llu copy %llu refills %llu alloc_empty %llu nic_allocs %llu; region free %u app %u kernel %u; refill pending %u; rx held %u",
		       info.net.state, info.net.nr_bufs, info.net.bufs_app,
		       info.net.bufs_nic, (unsigned long long)info.net.recv_bytes,
		       (unsigned long long)info.net.zc_bytes,
		       (unsigned long long)info.net.copy_bytes,
		       (unsigned long long)info.net.refills,
		       (unsigned long long)info.net.alloc_empty,
		       (unsigned long long)info.net.nic_allocs,
		       info.stats.bufs_free, info.stats.bufs_app,
		       info.stats.bufs_kernel, nl_refill_pending(st->rx.r),
		       st->rx.nr_held);
	if (!nl_sh(-1, out, sizeof(out), "ss -tmi state established 2>&1 | head -c 3000")) {
		const char *o = strstr(out, "rcv_ooopack:");

		TH_LOG("ss -tmi:\n%s", out);
		if (o && st->rx.r && !nl_region_info(st->rx.r, &info) &&
		    info.net.nr_bufs && strtoul(o + 12, NULL, 10) >= info.net.nr_bufs)
			TH_LOG("every one of the %u lent buffers is in the socket's out-of-order queue, the retransmission that fills the hole finds none",
			       info.net.nr_bufs);
	}
	if (!nl_sh(-1, out, sizeof(out),
		   "nstat -az 2>/dev/null | grep -E 'OFO|Prune|RcvQDrop|TCPRcvCollapsed|ListenDrop|TcpExtTCPZeroWindowDrop' | head -c 2000"))
		TH_LOG("nstat:\n%s", out);
}

#define nt_diag(st)	__nt_diag(_metadata, st)

/* Receive to the end of every flow, asserting on any failure. */
static inline void __nt_stream_run(struct __test_metadata *_metadata,
				   struct nt_stream *st, uint64_t until,
				   int idle_ms)
{
	int ret = nl_rx_run(&st->rx, until, idle_ms);

	if (ret)
		__nt_diag(_metadata, st);
	ASSERT_EQ(0, ret) TH_LOG("receive: %s: %s (sent %llu, received %llu)",
				 strerror(-ret), st->rx.err,
				 (unsigned long long)nl_sender_sent(&st->snd),
				 (unsigned long long)st->rx.bytes);
}

#define nt_stream_run(st, until, idle)	__nt_stream_run(_metadata, st, until, idle)

/* Wait for the sender to exit with status 0. */
static inline void __nt_sender_done(struct __test_metadata *_metadata,
				    struct nt_stream *st, int timeout_ms)
{
	int ret = nl_sender_wait(&st->snd, timeout_ms);

	ASSERT_EQ(0, ret) TH_LOG("sender exit status %d (flow 0 err %d sent %llu)",
				 ret, st->snd.sh->flow[0].err,
				 (unsigned long long)st->snd.sh->flow[0].sent);
}

#define nt_sender_done(st, ms)	__nt_sender_done(_metadata, st, ms)

/* Bytes queued on a socket (SIOCINQ), or -errno. */
static inline long nt_inq(int sock)
{
	int n;

	return ioctl(sock, FIONREAD, &n) ? -errno : n;
}

/* Wait until at least @bytes are queued on @sock; returns what is queued. */
static inline long nt_wait_inq(int sock, long bytes, int timeout_ms)
{
	uint64_t end = nl_now_ms() + timeout_ms;
	long n;

	while ((n = nt_inq(sock)) >= 0 && n < bytes && nl_now_ms() < end)
		usleep(10000);
	return n;
}

/*
 * A connected TCP pair over lo of the caller's namespace: *cli (blocking)
 * and *srv (the accepted end, O_NONBLOCK).
 */
static inline void __nt_lo_pair(struct __test_metadata *_metadata,
				uint16_t port, int *cli, int *srv)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int ls = nl_listen(sin.sin_addr, port);

	ASSERT_LE(0, ls) TH_LOG("listen on lo:%u: %s", port, strerror(-ls));
	*cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, *cli);
	ASSERT_EQ(0, connect(*cli, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("connect: %s", strerror(errno));
	*srv = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_LE(0, *srv) TH_LOG("accept: %s", strerror(errno));
	close(ls);
}

#define nt_lo_pair(port, cli, srv)	__nt_lo_pair(_metadata, port, cli, srv)

/* Write @len bytes of flow @flow's pattern from stream offset @off. */
static inline int nt_write_pattern(int fd, uint32_t flow, uint64_t off,
				   size_t len)
{
	uint8_t buf[16384];

	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		ssize_t w;

		nl_pattern_fill(flow, off, buf, n);
		w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		off += w;
		len -= w;
	}
	return 0;
}

/*
 * One RECV (inline) on @sock, all its completions reaped: asserts the ABI
 * round trip (one final completion, chunks with F_MORE, user_data) and
 * returns the final result; the chunks are in @ch (*nr of them).
 */
static inline int __nt_recv(struct __test_metadata *_metadata,
			    struct nl_region *r, int sock, uint16_t owner,
			    uint32_t len, uint32_t flags, struct nl_chunk *ch,
			    unsigned int max, unsigned int *nr)
{
	char err[256] = "";
	int32_t final = 0;
	int ret;

	ret = nl_recv(r, sock, owner, len, flags, 0, ch, max, nr, &final,
		      5000, err, sizeof(err));
	ASSERT_EQ(0, ret) TH_LOG("%s", err);
	return final;
}

#define nt_recv(r, s, o, len, fl, ch, max, nr)				\
	__nt_recv(_metadata, r, s, o, len, fl, ch, max, nr)

/*
 * Check chunks against flow @flow's pattern from stream offset @off: each
 * inside one buffer, held by @owner in the buffer table, COPIED as @copied
 * says (-1: either). Returns the bytes they hold.
 */
static inline uint64_t __nt_check_chunks(struct __test_metadata *_metadata,
					 struct nl_region *r,
					 const struct nl_chunk *ch,
					 unsigned int nr, uint16_t owner,
					 uint32_t flow, uint64_t off,
					 int copied)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < nr; i++) {
		const struct unified_io_buf_entry *e;
		uint64_t in = ch[i].addr % r->l.buf_size;
		long bad;

		ASSERT_NE(0U, ch[i].flags & UNIFIED_IO_CQE_F_MORE);
		ASSERT_LT(0, ch[i].res) TH_LOG("chunk %u res %d", i, ch[i].res);
		ASSERT_GE(r->l.buf_size, in + ch[i].res)
			TH_LOG("chunk %u at %#llx of %d bytes crosses a buffer",
			       i, (unsigned long long)ch[i].addr, ch[i].res);
		ASSERT_GT(r->l.data_size, ch[i].addr);
		if (copied >= 0) {
			ASSERT_EQ(!!copied, !!(ch[i].flags & UNIFIED_IO_CQE_F_COPIED))
				TH_LOG("chunk %u flags %#x", i, ch[i].flags);
		}
		e = &r->bt[ch[i].addr / r->l.buf_size];
		ASSERT_EQ(UNIFIED_IO_BUF_APP, e->state);
		ASSERT_EQ(owner, e->owner);
		bad = nl_pattern_check(flow, off + sum,
				       (uint8_t *)r->q.data + ch[i].addr,
				       ch[i].res, 0);
		ASSERT_EQ(-1, bad) TH_LOG("chunk %u: byte %ld differs (stream offset %llu)",
					  i, bad, (unsigned long long)(off + sum + bad));
		sum += ch[i].res;
	}
	return sum;
}

#define nt_check_chunks(r, ch, nr, owner, flow, off, copied)		\
	__nt_check_chunks(_metadata, r, ch, nr, owner, flow, off, copied)

/* FREE the buffers of @nr chunks (one FREE per chunk), asserting success. */
static inline void __nt_free_chunks(struct __test_metadata *_metadata,
				    struct nl_region *r, uint16_t owner,
				    const struct nl_chunk *ch, unsigned int nr)
{
	uint64_t offs[256];

	ASSERT_GE(256U, nr);
	for (unsigned int i = 0; i < nr; i++)
		offs[i] = ch[i].addr - ch[i].addr % r->l.buf_size;
	ASSERT_EQ(0, nl_free_bufs(r, owner, offs, nr));
}

#define nt_free_chunks(r, owner, ch, nr)				\
	__nt_free_chunks(_metadata, r, owner, ch, nr)

#endif /* NET_TEST_H */
