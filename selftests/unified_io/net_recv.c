// SPDX-License-Identifier: GPL-2.0
/*
 * UNIFIED_IO_OP_RECV on a region with no binding (any kernel with
 * UNIFIED_IO_FEAT_NET_RECV): every chunk is copied by the CPU, flagged
 * UNIFIED_IO_CQE_F_COPIED and counted in copy_bytes; and every documented
 * RECV error, each leaving the socket's data where it was.
 *
 *  stream_copied	4 flows between two namespaces over a veth or a
 *			unio_nic pair (header split: payload in page pool
 *			pages, so the frag path copies), every byte checked,
 *			GET_INFO's net counters and the region's buffer
 *			accounting back to all-free
 *  bad_fds		EBADF, ENOTSOCK, EPROTONOSUPPORT (UDP, AF_UNIX
 *			stream), ENOTCONN (never connected, listening)
 *  eagain_eof		EAGAIN with nothing queued, the data, EAGAIN, 0 at
 *			EOF and 0 again
 *  reset		a peer's RST after data: the data, then ECONNRESET
 *			(what recv() reports), not 0 (an orderly close)
 *  cq_small		ENOSPC when the CQ has only the final completion's
 *			slot; with one more slot, one chunk and the final
 *			result counting only its bytes
 *  no_buffers		ENOBUFS with every buffer allocated; with two free,
 *			two chunks and the final result their bytes
 *  bad_desc		EINVAL (addr, flags, owner, net.flags, net.resv) and
 *			ENOENT (RECV_F_BPF with no chain): one completion,
 *			nothing taken from the socket
 *  len_limit		@len caps the bytes taken; the rest stays queued
 *  free_rules		RECV buffers go back with FREE: EPERM for another
 *			owner, EALREADY twice
 *  ktls		(veth variant) RECV on a socket that has become kTLS
 *			(TCP_ULP "tls", TLS_RX) is EPROTONOSUPPORT and leaves
 *			the queued record to kTLS, which decrypts it; and
 *			over 100 connections, RECVs from another thread
 *			racing the install either take the record whole
 *			before it or fail after it, with the socket's data
 *			accounted for (the check runs under the socket lock,
 *			which the install takes too)
 */
#include <linux/tls.h>
#include <netinet/tcp.h>

#include "net_test.h"

#define SQ		8
#define CQ		1024
#define BUF		4096
#define NBUFS		512
#define PORT		7801
#define LO_PORT		7901
#define FLOWS		4
#define FLOW_BYTES	(2 * NT_MIB)
#define OWNER		NT_OWNER
#define MAXCH		1024

FIXTURE(recv) {
	struct nl_pair p;
	struct nl_region r;
	struct nt_stream st;
	struct nl_chunk ch[MAXCH];
};

FIXTURE_VARIANT(recv) {
	const char *kind;
};

FIXTURE_VARIANT_ADD(recv, veth) {
	.kind = "veth",
};

FIXTURE_VARIANT_ADD(recv, unionic) {
	.kind = "unionic",
};

FIXTURE_SETUP(recv)
{
	self->r.fd = -1;
	nt_stream_init(&self->st);
	NT_REQUIRE_RECV();
	if (!nt_pair_create(&self->p, variant->kind))
		return;
	nt_region_create(&self->r, SQ, CQ, BUF, NBUFS);
}

FIXTURE_TEARDOWN(recv)
{
	nt_stream_stop(&self->st);
	nl_region_destroy(&self->r);
	nl_pair_destroy(&self->p);
}

/* The region's accounting with nothing held: every buffer free. */
static void check_all_free(struct __test_metadata *_metadata,
			   struct nl_region *r)
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

TEST_F_TIMEOUT(recv, stream_copied, 600)
{
	struct nl_rx *rx = &self->st.rx;
	struct unified_io_info info;
	uint64_t total = FLOWS * FLOW_BYTES;

	nt_stream_start(&self->st, &self->p, &self->r, PORT, FLOWS, FLOW_BYTES);
	rx->expect = NL_EXPECT_COPIED;
	nt_stream_run(&self->st, 0, 20000);
	nt_sender_done(&self->st, 30000);

	EXPECT_EQ(total, rx->bytes);
	EXPECT_EQ(total, rx->verified);
	EXPECT_EQ(total, rx->copy_bytes);
	EXPECT_EQ(0U, rx->zc_bytes);
	EXPECT_EQ(0U, rx->nr_held);

	nt_info(&self->r, &info);
	EXPECT_EQ((__u32)UNIFIED_IO_NET_NONE, info.net.state);
	EXPECT_EQ(0U, info.net.nr_bufs);
	EXPECT_EQ(total, info.net.recv_bytes);
	EXPECT_EQ(total, info.net.copy_bytes);
	EXPECT_EQ(rx->copy_chunks, info.net.copy_chunks);
	EXPECT_EQ(0U, info.net.zc_bytes);
	EXPECT_EQ(0U, info.net.zc_chunks);
	EXPECT_EQ(0U, info.net.bpf_drops);
	EXPECT_EQ(rx->recvs, info.stats.ops[UNIFIED_IO_OP_RECV]);
	check_all_free(_metadata, &self->r);
	TH_LOG("%llu bytes in %llu chunks, %llu RECVs (%llu EAGAIN, %llu ENOBUFS)",
	       (unsigned long long)total, (unsigned long long)rx->copy_chunks,
	       (unsigned long long)rx->recvs, (unsigned long long)rx->eagain,
	       (unsigned long long)rx->nobufs);
}

/* A RECV expected to fail at once with @err: one completion, no chunk. */
static void expect_recv_err(struct __test_metadata *_metadata,
			    FIXTURE_DATA(recv) *self, int sock, int err,
			    const char *what)
{
	unsigned int nr = 99;
	int res = nt_recv(&self->r, sock, OWNER, 0, 0, self->ch, MAXCH, &nr);

	EXPECT_EQ(-err, res) TH_LOG("%s: got %d (%s)", what, res, strerror(-res));
	EXPECT_EQ(0U, nr) TH_LOG("%s", what);
}

TEST_F_TIMEOUT(recv, bad_fds, 120)
{
	struct unified_io_info before, after;
	int pfd[2], fd, u, us[2], t, l;
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};

	nt_info(&self->r, &before);
	fd = dup(0);
	ASSERT_LE(0, fd);
	close(fd);
	expect_recv_err(_metadata, self, fd, EBADF, "closed fd");
	expect_recv_err(_metadata, self, -1, EBADF, "fd -1");

	ASSERT_EQ(0, pipe(pfd));
	ASSERT_EQ(1, write(pfd[1], "x", 1));
	expect_recv_err(_metadata, self, pfd[0], ENOTSOCK, "pipe");
	expect_recv_err(_metadata, self, self->r.fd, ENOTSOCK, "the region's fd");
	close(pfd[0]);
	close(pfd[1]);

	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, u);
	ASSERT_EQ(0, bind(u, (struct sockaddr *)&sin, sizeof(sin)));
	expect_recv_err(_metadata, self, u, EPROTONOSUPPORT, "UDP socket");
	close(u);

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, us));
	ASSERT_EQ(3, write(us[1], "abc", 3));
	expect_recv_err(_metadata, self, us[0], EPROTONOSUPPORT, "AF_UNIX stream");
	close(us[0]);
	close(us[1]);

	t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, t);
	expect_recv_err(_metadata, self, t, ENOTCONN, "unconnected TCP socket");
	close(t);
	l = nl_listen(sin.sin_addr, LO_PORT);
	ASSERT_LE(0, l);
	expect_recv_err(_metadata, self, l, ENOTCONN, "listening TCP socket");
	close(l);

	nt_info(&self->r, &after);
	EXPECT_EQ(before.stats.errors + 8, after.stats.errors);
	EXPECT_EQ(0U, after.net.recv_bytes);
	EXPECT_EQ(0U, after.net.copy_chunks);
	check_all_free(_metadata, &self->r);
}

TEST_F_TIMEOUT(recv, eagain_eof, 120)
{
	unsigned int nr;
	int cli, srv, res;
	uint64_t got = 0;

	nt_lo_pair(LO_PORT, &cli, &srv);
	expect_recv_err(_metadata, self, srv, EAGAIN, "nothing queued");

	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 1000));
	ASSERT_EQ(1000, nt_wait_inq(srv, 1000, 5000));
	res = nt_recv(&self->r, srv, OWNER, 0, 0, self->ch, MAXCH, &nr);
	ASSERT_EQ(1000, res);
	got = nt_check_chunks(&self->r, self->ch, nr, OWNER, 0, 0, 1);
	EXPECT_EQ(1000U, got);
	nt_free_chunks(&self->r, OWNER, self->ch, nr);
	expect_recv_err(_metadata, self, srv, EAGAIN, "everything taken");

	ASSERT_EQ(0, shutdown(cli, SHUT_WR));
	for (int i = 0; i < 500; i++) {
		struct pollfd pfd = { .fd = srv, .events = POLLIN };

		if (poll(&pfd, 1, 10) == 1)
			break;
	}
	res = nt_recv(&self->r, srv, OWNER, 0, 0, self->ch, MAXCH, &nr);
	EXPECT_EQ(0, res) TH_LOG("at EOF: %d (%s)", res, strerror(-res));
	EXPECT_EQ(0U, nr);
	res = nt_recv(&self->r, srv, OWNER, 0, 0, self->ch, MAXCH, &nr);
	EXPECT_EQ(0, res) TH_LOG("again at EOF: %d (%s)", res, strerror(-res));
	close(cli);
	close(srv);
	check_all_free(_metadata, &self->r);
}

/* Close @fd with an RST (SO_LINGER 0) and wait for @peer to see it. */
static void rst_close(struct __test_metadata *_metadata, int fd, int peer)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct pollfd pfd = { .fd = peer, .events = POLLIN };

	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	close(fd);
	for (int i = 0; i < 500; i++) {
		if (poll(&pfd, 1, 10) == 1 && (pfd.revents & (POLLERR | POLLHUP)))
			break;
	}
	ASSERT_TRUE(pfd.revents & (POLLERR | POLLHUP))
		TH_LOG("no RST seen: revents %#x", pfd.revents);
}

TEST_F_TIMEOUT(recv, reset, 120)
{
	unsigned int nr;
	int cli, srv, res;
	char buf[8192];
	ssize_t n;

	/* What the socket API says: the data, then ECONNRESET. */
	nt_lo_pair(LO_PORT, &cli, &srv);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 3000));
	ASSERT_EQ(3000, nt_wait_inq(srv, 3000, 5000));
	rst_close(_metadata, cli, srv);
	n = recv(srv, buf, sizeof(buf), 0);
	EXPECT_EQ(3000, n);
	n = recv(srv, buf, sizeof(buf), 0);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(ECONNRESET, errno) TH_LOG("recv() after RST: %s", strerror(errno));
	close(srv);

	/* RECV: the same. */
	nt_lo_pair(LO_PORT + 1, &cli, &srv);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 3000));
	ASSERT_EQ(3000, nt_wait_inq(srv, 3000, 5000));
	rst_close(_metadata, cli, srv);
	res = nt_recv(&self->r, srv, OWNER, 0, 0, self->ch, MAXCH, &nr);
	ASSERT_EQ(3000, res) TH_LOG("data before the RST: %d", res);
	EXPECT_EQ(3000U, nt_check_chunks(&self->r, self->ch, nr, OWNER, 0, 0, 1));
	nt_free_chunks(&self->r, OWNER, self->ch, nr);
	res = nt_recv(&self->r, srv, OWNER, 0, 0, self->ch, MAXCH, &nr);
	EXPECT_EQ(-ECONNRESET, res)
		TH_LOG("RECV after the peer's RST: %d (%s); 0 would say the peer closed in order",
		       res, res ? strerror(-res) : "EOF");
	EXPECT_EQ(0U, nr);
	close(srv);
	check_all_free(_metadata, &self->r);
}

/* Post @n NOPs without reaping them. */
static void nops(struct __test_metadata *_metadata, struct nl_region *r, int n)
{
	struct unified_io_desc d = {};

	for (int i = 0; i < n; i++) {
		unio_prep_nop(&d, 0x4e4f50 + i);
		ASSERT_EQ(1, nl_submit_inline(r, &d));
	}
}

/* Submit a RECV while the CQ holds other completions; reap only the RECV's. */
static int recv_behind(struct __test_metadata *_metadata, struct nl_region *r,
		       int sock, struct nl_chunk *ch, unsigned int *nr)
{
	struct unified_io_desc d = {};
	int final = 0;
	bool done = false;

	nl_prep_recv(&d, sock, OWNER, 0, 0, 0x5ec7);
	ASSERT_EQ(1, nl_submit_inline(r, &d));
	*nr = 0;
	while (!done) {
		struct unified_io_cqe *c = unio_peek_cqe(&r->q);

		ASSERT_NE(NULL, c) TH_LOG("no final RECV completion");
		if (c->opcode == UNIFIED_IO_OP_NOP) {
			unio_cqe_seen(&r->q);
			continue;
		}
		ASSERT_EQ(0x5ec7U, c->user_data);
		if (c->flags & UNIFIED_IO_CQE_F_MORE) {
			ch[*nr].addr = c->addr;
			ch[*nr].res = c->res;
			ch[*nr].flags = c->flags;
			(*nr)++;
		} else {
			final = c->res;
			done = true;
		}
		unio_cqe_seen(&r->q);
	}
	return final;
}

TEST_F_TIMEOUT(recv, cq_small, 120)
{
	struct nl_region small = { .fd = -1 };
	unsigned int nr;
	int cli, srv, res;
	uint64_t off = 0;
	long inq;

	if (!nt_region_create(&small, 2, 4, BUF, 64))
		return;
	ASSERT_EQ(4U, small.l.cq.ring_entries);
	nt_lo_pair(LO_PORT, &cli, &srv);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 12000));
	ASSERT_EQ(12000, nt_wait_inq(srv, 12000, 5000));

	/* One free slot: the final completion's. */
	nops(_metadata, &small, 3);
	{
		struct unified_io_desc d = {};
		struct unified_io_cqe *c;

		nl_prep_recv(&d, srv, OWNER, 0, 0, 0x5ec6);
		ASSERT_EQ(1, nl_submit_inline(&small, &d));
		ASSERT_EQ(4U, unio_cq_ready(&small.q));
		for (int i = 0; i < 3; i++) {
			c = unio_peek_cqe(&small.q);
			ASSERT_EQ(UNIFIED_IO_OP_NOP, c->opcode);
			unio_cqe_seen(&small.q);
		}
		c = unio_peek_cqe(&small.q);
		ASSERT_NE(NULL, c);
		EXPECT_EQ(0x5ec6U, c->user_data);
		EXPECT_EQ(-ENOSPC, c->res) TH_LOG("RECV with only the final slot: %d", c->res);
		EXPECT_EQ(0U, c->flags);
		unio_cqe_seen(&small.q);
	}
	EXPECT_EQ(12000, nt_inq(srv)) TH_LOG("ENOSPC took data");

	/* Two free slots: one chunk, and the final result counts its bytes. */
	nops(_metadata, &small, 2);
	res = recv_behind(_metadata, &small, srv, self->ch, &nr);
	ASSERT_EQ(1U, nr) TH_LOG("chunks with one slot for them");
	EXPECT_EQ(self->ch[0].res, res) TH_LOG("final result after ENOSPC mid-way");
	off += nt_check_chunks(&small, self->ch, nr, OWNER, 0, 0, 1);
	EXPECT_EQ(12000 - (long)off, nt_inq(srv));
	nt_free_chunks(&small, OWNER, self->ch, nr);

	/* The rest, three chunks per RECV at most. */
	while (off < 12000) {
		res = nt_recv(&small, srv, OWNER, 0, 0, self->ch, MAXCH, &nr);
		ASSERT_LT(0, res) TH_LOG("at %llu: %d", (unsigned long long)off, res);
		ASSERT_GE(3U, nr);
		EXPECT_EQ((uint64_t)res, nt_check_chunks(&small, self->ch, nr, OWNER,
							 0, off, 1));
		off += res;
		nt_free_chunks(&small, OWNER, self->ch, nr);
	}
	inq = nt_inq(srv);
	EXPECT_EQ(0, inq);
	close(cli);
	close(srv);
	check_all_free(_metadata, &small);
	nl_region_destroy(&small);
}

TEST_F_TIMEOUT(recv, no_buffers, 120)
{
	struct nl_region tiny = { .fd = -1 };
	uint64_t bufs[8], off = 0;
	unsigned int nr;
	int cli, srv, res;
	struct unified_io_info info;

	if (!nt_region_create(&tiny, 8, 64, BUF, 8))
		return;
	for (int i = 0; i < 8; i++) {
		struct unified_io_desc d = {};
		struct unified_io_cqe *c;

		unio_prep_alloc(&d, 0x11, i);
		ASSERT_EQ(1, nl_submit_inline(&tiny, &d));
		c = unio_peek_cqe(&tiny.q);
		ASSERT_NE(NULL, c);
		ASSERT_EQ(BUF, c->res);
		bufs[i] = c->addr;
		unio_cqe_seen(&tiny.q);
	}
	nt_lo_pair(LO_PORT, &cli, &srv);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 20000));
	ASSERT_EQ(20000, nt_wait_inq(srv, 20000, 5000));

	res = nt_recv(&tiny, srv, OWNER, 0, 0, self->ch, MAXCH, &nr);
	EXPECT_EQ(-ENOBUFS, res) TH_LOG("RECV with no free buffer: %d", res);
	EXPECT_EQ(0U, nr);
	EXPECT_EQ(20000, nt_inq(srv)) TH_LOG("ENOBUFS took data");

	/* Two free buffers: two chunks, then ENOBUFS, reported as the bytes. */
	ASSERT_EQ(0, nl_free_bufs(&tiny, 0x11, bufs, 2));
	res = nt_recv(&tiny, srv, OWNER, 0, 0, self->ch, MAXCH, &nr);
	EXPECT_EQ(2U, nr);
	ASSERT_LT(0, res);
	off = nt_check_chunks(&tiny, self->ch, nr, OWNER, 0, 0, 1);
	EXPECT_EQ((uint64_t)res, off);
	EXPECT_EQ(20000 - (long)off, nt_inq(srv));
	nt_info(&tiny, &info);
	EXPECT_EQ(0U, info.stats.bufs_free);
	EXPECT_EQ(8U, info.stats.bufs_app);
	nt_free_chunks(&tiny, OWNER, self->ch, nr);
	ASSERT_EQ(0, nl_free_bufs(&tiny, 0x11, bufs + 2, 6));

	while (off < 20000) {
		res = nt_recv(&tiny, srv, OWNER, 0, 0, self->ch, MAXCH, &nr);
		ASSERT_LT(0, res) TH_LOG("at %llu: %d", (unsigned long long)off, res);
		EXPECT_EQ((uint64_t)res, nt_check_chunks(&tiny, self->ch, nr, OWNER,
							 0, off, 1));
		off += res;
		nt_free_chunks(&tiny, OWNER, self->ch, nr);
	}
	close(cli);
	close(srv);
	check_all_free(_metadata, &tiny);
	nl_region_destroy(&tiny);
}

/* One way to spoil a RECV descriptor. */
struct bad_case {
	const char *what;
	int err;
	size_t off;		/* of the field in struct unified_io_desc */
	size_t size;
	__u64 val;
};

#define BAD(w, e, field, v) {						\
	w, e, offsetof(struct unified_io_desc, field),			\
	sizeof(((struct unified_io_desc *)0)->field), v }

static const struct bad_case bad_cases[] = {
	BAD("addr 4096", EINVAL, addr, 4096),
	BAD("addr 1", EINVAL, addr, 1),
	BAD("desc flags", EINVAL, flags, 1),
	BAD("owner 0", EINVAL, owner, 0),
	BAD("net.flags bit 2", EINVAL, net.flags, 4),
	BAD("net.flags bit 31", EINVAL, net.flags, 1U << 31),
	BAD("net.resv[0]", EINVAL, net.resv[0], 1),
	BAD("net.resv[1]", EINVAL, net.resv[1], 1),
	BAD("net.resv[2]", EINVAL, net.resv[2], 1),
	BAD("net.resv[3]", EINVAL, net.resv[3], 1ULL << 63),
	BAD("RECV_F_BPF, no chain", ENOENT, net.flags, UNIFIED_IO_RECV_F_BPF),
};

static void spoil(struct unified_io_desc *d, const struct bad_case *c)
{
	__u8 *p = (__u8 *)d + c->off;

	switch (c->size) {
	case 1: *p = c->val; break;
	case 2: *(__u16 *)p = c->val; break;
	case 4: *(__u32 *)p = c->val; break;
	default: *(__u64 *)p = c->val; break;
	}
}

TEST_F_TIMEOUT(recv, bad_desc, 120)
{
	struct unified_io_info before, after;
	unsigned int nr;
	int cli, srv, res;

	nt_lo_pair(LO_PORT, &cli, &srv);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 5000));
	ASSERT_EQ(5000, nt_wait_inq(srv, 5000, 5000));
	nt_info(&self->r, &before);
	for (size_t i = 0; i < UT_ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct unified_io_desc d = {};
		struct unified_io_cqe *c;

		nl_prep_recv(&d, srv, OWNER, 0, 0, 0xbad0 + i);
		spoil(&d, bc);
		ASSERT_EQ(1, nl_submit_inline(&self->r, &d));
		ASSERT_EQ(1U, unio_cq_ready(&self->r.q)) TH_LOG("%s", bc->what);
		c = unio_peek_cqe(&self->r.q);
		EXPECT_EQ(0xbad0 + i, c->user_data);
		EXPECT_EQ(-bc->err, c->res) TH_LOG("%s: %d", bc->what, c->res);
		EXPECT_EQ(0U, c->flags) TH_LOG("%s", bc->what);
		unio_cqe_seen(&self->r.q);
		EXPECT_EQ(5000, nt_inq(srv)) TH_LOG("%s took data", bc->what);
	}
	nt_info(&self->r, &after);
	EXPECT_EQ(before.stats.errors + UT_ARRAY_SIZE(bad_cases), after.stats.errors);
	EXPECT_EQ(0U, after.net.recv_bytes);
	check_all_free(_metadata, &self->r);

	res = nt_recv(&self->r, srv, OWNER, 0, 0, self->ch, MAXCH, &nr);
	EXPECT_EQ(5000, res);
	EXPECT_EQ(5000U, nt_check_chunks(&self->r, self->ch, nr, OWNER, 0, 0, 1));
	nt_free_chunks(&self->r, OWNER, self->ch, nr);
	close(cli);
	close(srv);
}

TEST_F_TIMEOUT(recv, len_limit, 120)
{
	const uint32_t lens[] = { 1, 1000, 4096, 4097, 0 };
	uint64_t off = 0;
	unsigned int nr;
	int cli, srv, res;

	nt_lo_pair(LO_PORT, &cli, &srv);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 20000));
	ASSERT_EQ(20000, nt_wait_inq(srv, 20000, 5000));
	for (size_t i = 0; i < UT_ARRAY_SIZE(lens); i++) {
		uint32_t want = lens[i] ? lens[i] : 20000 - off;

		res = nt_recv(&self->r, srv, OWNER, lens[i], 0, self->ch, MAXCH, &nr);
		EXPECT_EQ((int)want, res) TH_LOG("len %u", lens[i]);
		ASSERT_LT(0, res);
		EXPECT_EQ((uint64_t)res, nt_check_chunks(&self->r, self->ch, nr,
							 OWNER, 0, off, 1));
		off += res;
		EXPECT_EQ(20000 - (long)off, nt_inq(srv));
		nt_free_chunks(&self->r, OWNER, self->ch, nr);
	}
	EXPECT_EQ(20000U, off);
	close(cli);
	close(srv);
	check_all_free(_metadata, &self->r);
}

TEST_F_TIMEOUT(recv, free_rules, 120)
{
	struct unified_io_desc d = {};
	struct unified_io_cqe *c;
	unsigned int nr;
	int cli, srv, res;
	uint64_t a;

	nt_lo_pair(LO_PORT, &cli, &srv);
	ASSERT_EQ(0, nt_write_pattern(cli, 0, 0, 100));
	ASSERT_EQ(100, nt_wait_inq(srv, 100, 5000));
	res = nt_recv(&self->r, srv, OWNER, 0, 0, self->ch, MAXCH, &nr);
	ASSERT_EQ(100, res);
	ASSERT_EQ(1U, nr);
	a = self->ch[0].addr;
	ASSERT_EQ(0U, a % BUF);

	unio_prep_free(&d, OWNER + 1, a, 1);
	ASSERT_EQ(1, nl_submit_inline(&self->r, &d));
	c = unio_peek_cqe(&self->r.q);
	EXPECT_EQ(-EPERM, c->res) TH_LOG("FREE by another owner");
	unio_cqe_seen(&self->r.q);
	EXPECT_EQ(UNIFIED_IO_BUF_APP, self->r.bt[a / BUF].state);

	unio_prep_free(&d, OWNER, a, 2);
	ASSERT_EQ(1, nl_submit_inline(&self->r, &d));
	c = unio_peek_cqe(&self->r.q);
	EXPECT_EQ(0, c->res);
	unio_cqe_seen(&self->r.q);

	unio_prep_free(&d, OWNER, a, 3);
	ASSERT_EQ(1, nl_submit_inline(&self->r, &d));
	c = unio_peek_cqe(&self->r.q);
	EXPECT_EQ(-EALREADY, c->res) TH_LOG("second FREE");
	unio_cqe_seen(&self->r.q);
	close(cli);
	close(srv);
	check_all_free(_metadata, &self->r);
}

/* AES-GCM-128 with fixed parameters, the same on both ends. */
static void tls_info(struct tls12_crypto_info_aes_gcm_128 *ci)
{
	memset(ci, 0, sizeof(*ci));
	ci->info.version = TLS_1_2_VERSION;
	ci->info.cipher_type = TLS_CIPHER_AES_GCM_128;
	memset(ci->key, 0x4b, sizeof(ci->key));
	memset(ci->iv, 0x17, sizeof(ci->iv));
	memset(ci->salt, 0x5a, sizeof(ci->salt));
}

static int tls_on(int fd, int dir)
{
	struct tls12_crypto_info_aes_gcm_128 ci;

	tls_info(&ci);
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")))
		return -errno;
	if (setsockopt(fd, SOL_TLS, dir, &ci, sizeof(ci)))
		return -errno;
	return 0;
}

/* One 1000-byte record of pattern 0 through the client's kTLS TX. */
#define TLS_PLAIN	1000
#define TLS_WIRE	(TLS_PLAIN + 5 + 8 + 16)	/* header, nonce, tag */

struct tls_racer {
	struct nl_region *r;
	int sock;
	volatile int stop;
	int took;		/* bytes RECVs took (final results > 0) */
	int eproto;		/* RECVs refused with EPROTONOSUPPORT */
	int other;		/* anything else but EAGAIN: a failure */
};

static void *tls_race_thread(void *arg)
{
	struct tls_racer *t = arg;
	struct nl_chunk ch[8];
	char err[256];
	unsigned int nr;
	int32_t res;

	while (!t->stop) {
		if (nl_recv(t->r, t->sock, NT_OWNER, 0, 0, 0, ch, 8, &nr, &res,
			    5000, err, sizeof(err))) {
			t->other++;
			break;
		}
		if (res > 0) {
			uint64_t offs[8];

			t->took += res;
			for (unsigned int i = 0; i < nr; i++)
				offs[i] = ch[i].addr - ch[i].addr % t->r->l.buf_size;
			if (nl_free_bufs(t->r, NT_OWNER, offs, nr))
				t->other++;
		} else if (res == -EPROTONOSUPPORT) {
			t->eproto++;
		} else if (res != -EAGAIN) {
			t->other++;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(recv, ktls, 300)
{
	char plain[TLS_PLAIN], got[TLS_PLAIN];
	int cli, srv, res, decrypted = 0, taken = 0;
	unsigned int nr;

	if (strcmp(variant->kind, "veth"))
		SKIP(return, "once is enough (veth variant)");
	nl_pattern_fill(0, 0, plain, sizeof(plain));

	/* Installed while nothing else runs: RECV refuses, kTLS decrypts. */
	nt_lo_pair(LO_PORT + 10, &cli, &srv);
	/* kTLS built in, or loaded on demand by TCP_ULP ("tcp-ulp-tls"). */
	res = tls_on(cli, TLS_TX);
	if (res == -ENOENT) {
		close(cli);
		close(srv);
		SKIP(return, "no kTLS in this kernel (TCP_ULP \"tls\": ENOENT)");
	}
	ASSERT_EQ(0, res) TH_LOG("kTLS TX: %s", strerror(-res));
	ASSERT_EQ(TLS_PLAIN, write(cli, plain, sizeof(plain)));
	ASSERT_EQ(TLS_WIRE, nt_wait_inq(srv, TLS_WIRE, 5000));
	ASSERT_EQ(0, tls_on(srv, TLS_RX));
	res = nt_recv(&self->r, srv, OWNER, 0, 0, self->ch, MAXCH, &nr);
	EXPECT_EQ(-EPROTONOSUPPORT, res);
	EXPECT_EQ(0U, nr);
	EXPECT_EQ(TLS_PLAIN, recv(srv, got, sizeof(got), 0));
	EXPECT_EQ(0, memcmp(plain, got, sizeof(got)));
	close(cli);
	close(srv);

	/* Racing: each RECV is before the install (whole record) or after. */
	for (int round = 0; round < 100; round++) {
		struct tls_racer t = { .r = &self->r };
		pthread_t th;

		nt_lo_pair(LO_PORT + 11 + round % 50, &cli, &srv);
		ASSERT_EQ(0, tls_on(cli, TLS_TX));
		ASSERT_EQ(TLS_PLAIN, write(cli, plain, sizeof(plain)));
		ASSERT_EQ(TLS_WIRE, nt_wait_inq(srv, TLS_WIRE, 5000));
		t.sock = srv;
		ASSERT_EQ(0, pthread_create(&th, NULL, tls_race_thread, &t));
		usleep(round * 37 % 500);
		ASSERT_EQ(0, tls_on(srv, TLS_RX));
		/* The thread sees the install within a few RECVs. */
		for (int i = 0; i < 500 && !t.eproto && !t.other; i++)
			usleep(1000);
		t.stop = 1;
		pthread_join(th, NULL);
		ASSERT_EQ(0, t.other) TH_LOG("round %d", round);
		ASSERT_LT(0, t.eproto) TH_LOG("round %d: no RECV refused", round);
		if (t.took) {
			/* It went to RECV before the install, whole. */
			ASSERT_EQ(TLS_WIRE, t.took) TH_LOG("round %d", round);
			taken++;
		} else {
			/* kTLS got it all. */
			ASSERT_EQ(TLS_PLAIN, recv(srv, got, sizeof(got), MSG_DONTWAIT))
				TH_LOG("round %d: %s", round, strerror(errno));
			ASSERT_EQ(0, memcmp(plain, got, sizeof(got)));
			decrypted++;
		}
		close(cli);
		close(srv);
	}
	TH_LOG("%d rounds: the record went to RECV before the install %d times, "
	       "to kTLS %d times", 100, taken, decrypted);
	check_all_free(_metadata, &self->r);
}

TEST_HARNESS_MAIN
