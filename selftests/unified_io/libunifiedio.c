// SPDX-License-Identifier: GPL-2.0
/*
 * libunifiedio's public API against the real device: the options struct's
 * size handling, open-then-setup, the rings through the library (submit,
 * wait, wrap-around), the synchronous buffer helpers and their errors,
 * unio_submit_and_wait(), the name tables, zcrx over the caller's memory,
 * and SEND (1.6): unio_prep_send(), unio_cqe_is_notif(),
 * unio_send_get_info(), a buffer sent over loopback TCP and checked at the
 * receiver, and the NVMe READs the library refuses while it is in flight;
 * and 1.7: armed RECV through the library on both rings, over lo and over
 * veth between two namespaces (a byte-exact stream; no SUBMIT or COMPLETE
 * while chunks are queued, counted by the region's stats), CANCEL,
 * unio_submit_and_wait() beside it, and link chains.
 *
 * Unlike the other selftests this one is linked against the shared library
 * (libunifiedio.so, found through its rpath), so it exercises the exported
 * symbols and the version script rather than the static archive.
 */
#include <inttypes.h>
#include <liburing.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "ut.h"
#include "net_lib.h"

/* An options struct from a "newer" caller: known fields plus a tail. */
struct opts_v2 {
	struct unio_region_opts base;
	uint64_t new_field;
};

TEST(opts)
{
	struct opts_v2 big;
	struct unio_region *r;
	uint32_t feat;

	UT_REQUIRE_DEVICE();

	/* A non-zero byte the library does not know about. */
	memset(&big, 0, sizeof(big));
	big.base.sz = sizeof(big);
	big.new_field = 1;
	EXPECT_EQ(-E2BIG, unio_region_create(&big.base, &r));

	/* The same, zeroed: accepted. */
	big.new_field = 0;
	ASSERT_EQ(0, unio_region_create(&big.base, &r));
	unio_region_destroy(r);

	/* An old caller that knows only sz and dev_path gets defaults. */
	memset(&big, 0, sizeof(big));
	big.base.sz = 16;
	big.base.sq_entries = 3;	/* beyond sz: ignored */
	ASSERT_EQ(0, unio_region_create(&big.base, &r));
	EXPECT_EQ(128U, unio_region_queue(r)->sq.ring_entries);
	unio_region_destroy(r);

	/* Too small even for sz. */
	big.base.sz = 4;
	EXPECT_EQ(-EINVAL, unio_region_create(&big.base, &r));

	/* NULL options: every default; a second SETUP is refused. */
	ASSERT_EQ(0, unio_region_create(NULL, &r));
	EXPECT_EQ(64U << 10, unio_region_layout(r)->buf_size);
	EXPECT_EQ(16ULL << 20, unio_region_layout(r)->data_size);
	EXPECT_EQ(-EBUSY, unio_region_setup(r, NULL));
	unio_region_destroy(r);

	ASSERT_EQ(0, unio_get_features(NULL, &feat));
	EXPECT_EQ(UNIFIED_IO_FEAT_SQ_RING, feat & UNIFIED_IO_FEAT_SQ_RING);
	EXPECT_EQ(-ENOENT, unio_get_features("/nonexistent/unified_io", &feat));
}

TEST(open_then_setup)
{
	struct unified_io_info info;
	struct unio_region *r;

	UT_REQUIRE_DEVICE();

	UNIO_OPTS(opts, .sq_entries = 4, .buf_size = 4096, .data_size = 8 * 4096);
	ASSERT_EQ(0, unio_region_open(NULL, &r));
	EXPECT_EQ(NULL, unio_region_queue(r));
	EXPECT_EQ(NULL, unio_region_data(r));
	ASSERT_EQ(0, unio_region_get_info(r, &info));
	EXPECT_EQ((__u32)UNIFIED_IO_ABI_VERSION, info.config.abi_version);
	EXPECT_EQ(0ULL, info.layout.region_size);
	ASSERT_EQ(0, unio_region_setup(r, &opts));
	EXPECT_LE(0, unio_region_fd(r));
	ASSERT_EQ(0, unio_region_get_info(r, &info));
	EXPECT_EQ(4U, info.config.sq_entries);
	EXPECT_EQ(8U, info.config.cq_entries);
	EXPECT_EQ(8U, info.config.nr_bufs);
	ASSERT_NE(NULL, unio_region_queue(r));
	EXPECT_EQ(8U, unio_region_queue(r)->cq.ring_entries);
	unio_region_destroy(r);
}

/* A region with an 8-entry SQ, a 16-entry CQ and four 4 KiB buffers. */
FIXTURE(lib_rings) {
	struct unio_region *r;
	struct unio_queue *q;
};

FIXTURE_SETUP(lib_rings)
{
	self->r = NULL;
	UT_REQUIRE_DEVICE();

	UNIO_OPTS(opts, .sq_entries = 8, .cq_entries = 16, .buf_size = 4096,
		  .data_size = 4 * 4096);
	ASSERT_EQ(0, unio_region_create(&opts, &self->r));
	self->q = unio_region_queue(self->r);
	ASSERT_NE(NULL, self->q);
}

FIXTURE_TEARDOWN(lib_rings)
{
	if (self->r)
		unio_region_destroy(self->r);
}

/*
 * One test, in the original order: each step starts from the ring indices
 * (wrapped) and buffer states the previous one left.
 */
TEST_F(lib_rings, rings)
{
	struct unio_queue *q = self->q;
	struct unified_io_desc *sqe;
	struct unified_io_cqe *cqe;
	uint64_t off, off2, offs[4];
	unsigned int i, j;

	EXPECT_EQ(0, unio_submit(q));		/* nothing pending: no syscall */
	EXPECT_EQ(8U, unio_sq_space_left(q));
	for (i = 0; i < 8; i++) {
		sqe = unio_get_sqe(q);
		ASSERT_NE(NULL, sqe);
		unio_prep_nop(sqe, 100 + i);
	}
	EXPECT_EQ(NULL, unio_get_sqe(q));
	EXPECT_EQ(8U, unio_sq_ready(q));
	ASSERT_EQ(8, unio_submit(q));
	EXPECT_EQ(0U, unio_sq_ready(q));
	EXPECT_EQ(8U, unio_cq_ready(q));
	EXPECT_EQ(8, unio_wait_cqes(q, 8, 0));
	for (i = 0; i < 8; i++) {
		cqe = unio_peek_cqe(q);
		ASSERT_NE(NULL, cqe);
		EXPECT_EQ(100ULL + i, cqe->user_data);
		EXPECT_EQ(0, cqe->res);
		EXPECT_EQ(UNIFIED_IO_OP_NOP, cqe->opcode);
		unio_cqe_seen(q);
	}
	EXPECT_EQ(NULL, unio_peek_cqe(q));

	/* Wrap the rings several times. */
	for (i = 0; i < 40; i++) {
		sqe = unio_get_sqe(q);
		ASSERT_NE(NULL, sqe);
		unio_prep_nop(sqe, i);
		ASSERT_EQ(1, unio_submit(q));
		cqe = unio_peek_cqe(q);
		ASSERT_NE(NULL, cqe);
		EXPECT_EQ((__u64)i, cqe->user_data);
		unio_cq_advance(q, 1);
	}

	/* The sync helpers leave other completions in place and in order. */
	for (i = 0; i < 3; i++) {
		sqe = unio_get_sqe(q);
		ASSERT_NE(NULL, sqe);
		unio_prep_nop(sqe, 1 + i);
	}
	ASSERT_EQ(3, unio_submit(q));
	ASSERT_EQ(0, unio_buf_alloc(q, 9, &off));
	EXPECT_EQ(0ULL, off % 4096);
	ASSERT_EQ(0, unio_buf_alloc(q, 9, &off2));
	EXPECT_NE(off, off2);
	EXPECT_EQ(3U, unio_cq_ready(q));
	EXPECT_EQ(-EPERM, unio_buf_free(q, 8, off));
	EXPECT_EQ(0, unio_buf_free(q, 9, off));
	EXPECT_EQ(-EALREADY, unio_buf_free(q, 9, off));
	EXPECT_EQ(-EINVAL, unio_buf_free(q, 9, off + 1));
	EXPECT_EQ(-ERANGE, unio_buf_free(q, 9, 1 << 30));
	EXPECT_EQ(-EINVAL, unio_buf_free(q, 0, off2));
	EXPECT_EQ(0, unio_buf_free(q, 9, off2));
	/* The data area is mapped writable. */
	memset(unio_data_ptr(q, off2), 0xab, 4096);
	EXPECT_EQ(3U, unio_cq_ready(q));
	for (i = 0; i < 3; i++) {
		cqe = unio_peek_cqe(q);
		ASSERT_NE(NULL, cqe);
		EXPECT_EQ(1ULL + i, cqe->user_data);
		EXPECT_EQ(UNIFIED_IO_OP_NOP, cqe->opcode);
		unio_cqe_seen(q);
	}

	/* Exhaustion, then a full CQ makes the helpers fail with EBUSY. */
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, unio_buf_alloc(q, 1, &offs[i])) TH_LOG("buffer %u", i);
	}
	EXPECT_EQ(-ENOBUFS, unio_buf_alloc(q, 1, &off));
	for (i = 0; i < 2; i++) {
		for (j = 0; j < 8; j++) {
			sqe = unio_get_sqe(q);
			ASSERT_NE(NULL, sqe);
			unio_prep_nop(sqe, j);
		}
		ASSERT_EQ(8, unio_submit(q));
	}
	EXPECT_EQ(16U, unio_cq_ready(q));
	EXPECT_EQ(-EBUSY, unio_buf_free(q, 1, offs[0]));
	unio_cq_advance(q, 16);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(0, unio_buf_free(q, 1, offs[i])) TH_LOG("buffer %u", i);
	}
}

/*
 * unio_submit_and_wait() with module operations: the completion of the one
 * descriptor, a failed operation reported in cqe->res, and EBUSY while
 * anything else on the path is unreaped.
 */
TEST_F(lib_rings, submit_and_wait)
{
	struct unified_io_desc d = {}, *sqe;
	struct unified_io_cqe cqe;
	uint64_t off;

	unio_prep_alloc(&d, 7, 0x11);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &cqe, 0));
	EXPECT_EQ(0x11ULL, cqe.user_data);
	EXPECT_EQ(UNIFIED_IO_OP_ALLOC, cqe.opcode);
	ASSERT_EQ(4096, cqe.res);		/* ALLOC: the buffer size */
	off = cqe.addr;
	EXPECT_EQ(0ULL, off % 4096);
	EXPECT_GT(4ULL * 4096, off);

	/* The operation fails, the call does not. */
	memset(&d, 0, sizeof(d));
	unio_prep_free(&d, 8, off, 0x12);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &cqe, 0));
	EXPECT_EQ(-EPERM, cqe.res);
	memset(&d, 0, sizeof(d));
	unio_prep_free(&d, 7, off, 0x13);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &cqe, 0));
	EXPECT_EQ(0, cqe.res);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &cqe, 1000000000ULL));
	EXPECT_EQ(-EALREADY, cqe.res);

	/* A descriptor queued in the SQ, then its completion unreaped. */
	sqe = unio_get_sqe(self->q);
	ASSERT_NE(NULL, sqe);
	unio_prep_nop(sqe, 0x21);
	memset(&d, 0, sizeof(d));
	unio_prep_nop(&d, 0x22);
	EXPECT_EQ(-EBUSY, unio_submit_and_wait(self->r, &d, &cqe, 0));
	ASSERT_EQ(1, unio_submit(self->q));
	EXPECT_EQ(-EBUSY, unio_submit_and_wait(self->r, &d, &cqe, 0));
	ASSERT_EQ(1, unio_reap(self->r, &cqe, 1, 1, 0));
	EXPECT_EQ(0x21ULL, cqe.user_data);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &cqe, 0));
	EXPECT_EQ(0x22ULL, cqe.user_data);
	EXPECT_EQ(0U, unio_cq_ready(self->q));
}

/* Pure look-ups: no device needed. */
TEST(names)
{
	unsigned int op;

	EXPECT_STREQ("nop", unio_op_name(UNIFIED_IO_OP_NOP));
	EXPECT_STREQ("free", unio_op_name(UNIFIED_IO_OP_FREE));
	EXPECT_STREQ("recv", unio_op_name(UNIFIED_IO_OP_RECV));
	EXPECT_STREQ("send", unio_op_name(UNIFIED_IO_OP_SEND));
	EXPECT_STREQ("nvme", unio_op_name(UNIFIED_IO_OP_NVME));
	/* Every opcode the module runs has a name. */
	for (op = 0; op < UNIFIED_IO_OP_LAST; op++) {
		EXPECT_STRNE("unknown", unio_op_name(op)) TH_LOG("opcode %u", op);
	}
	EXPECT_STREQ("unknown", unio_op_name(UNIFIED_IO_OP_LAST));
	EXPECT_STREQ("unknown", unio_op_name(200));
	EXPECT_STREQ("free", unio_buf_state_name(UNIFIED_IO_BUF_FREE));
	EXPECT_STREQ("app", unio_buf_state_name(UNIFIED_IO_BUF_APP));
	EXPECT_STREQ("kernel", unio_buf_state_name(UNIFIED_IO_BUF_KERNEL));
	EXPECT_STREQ("sending", unio_buf_state_name(UNIFIED_IO_BUF_SENDING));
	EXPECT_STREQ("unknown", unio_buf_state_name(UNIFIED_IO_BUF_SENDING + 1));
	EXPECT_STREQ("unknown", unio_buf_state_name(~0U));
}

/*
 * unio_prep_send() sets exactly the SEND fields, and leaves every other
 * byte as it found it; unio_cqe_is_notif() needs the opcode and the flag.
 */
TEST(prep_send)
{
	struct unified_io_desc d, want;
	struct unified_io_cqe c;
	unsigned char *p = (unsigned char *)&d;
	size_t i;

	memset(&d, 0, sizeof(d));
	unio_prep_send(&d, 7, 0x1234, 0x10040, 3000,
		       UNIFIED_IO_SEND_F_BPF | UNIFIED_IO_SEND_F_MORE,
		       0x1122334455667788ULL);
	memset(&want, 0, sizeof(want));
	want.opcode = UNIFIED_IO_OP_SEND;
	want.owner = 0x1234;
	want.addr = 0x10040;
	want.len = 3000;
	want.user_data = 0x1122334455667788ULL;
	want.net.fd = 7;
	want.net.flags = UNIFIED_IO_SEND_F_BPF | UNIFIED_IO_SEND_F_MORE;
	EXPECT_EQ(0, memcmp(&want, &d, sizeof(d)));

	/* Over a poisoned descriptor: the rest stays poisoned. */
	memset(&d, 0xcc, sizeof(d));
	unio_prep_send(&d, 7, 0x1234, 0x10040, 3000,
		       UNIFIED_IO_SEND_F_BPF | UNIFIED_IO_SEND_F_MORE,
		       0x1122334455667788ULL);
	EXPECT_EQ(UNIFIED_IO_OP_SEND, d.opcode);
	EXPECT_EQ(0x1234, d.owner);
	EXPECT_EQ(0x10040ULL, d.addr);
	EXPECT_EQ(3000U, d.len);
	EXPECT_EQ(0x1122334455667788ULL, d.user_data);
	EXPECT_EQ(7, (int)d.net.fd);
	EXPECT_EQ((__u32)(UNIFIED_IO_SEND_F_BPF | UNIFIED_IO_SEND_F_MORE), d.net.flags);
	EXPECT_EQ(0xcc, d.flags);
	for (i = offsetof(struct unified_io_desc, net) + sizeof(d.net);
	     i < sizeof(d); i++) {
		EXPECT_EQ(0xcc, p[i]) TH_LOG("byte %zu", i);
	}

	memset(&c, 0, sizeof(c));
	c.opcode = UNIFIED_IO_OP_SEND;
	c.flags = UNIFIED_IO_CQE_F_NOTIF;
	EXPECT_TRUE(unio_cqe_is_notif(&c));
	c.flags = UNIFIED_IO_CQE_F_NOTIF | UNIFIED_IO_CQE_F_COPIED;
	EXPECT_TRUE(unio_cqe_is_notif(&c));
	c.flags = UNIFIED_IO_CQE_F_MORE;		/* the first completion */
	EXPECT_FALSE(unio_cqe_is_notif(&c));
	c.flags = 0;					/* a failed SEND */
	EXPECT_FALSE(unio_cqe_is_notif(&c));
	/* Bit 3 means something else in another opcode's flags. */
	c.flags = UNIFIED_IO_CQE_F_NOTIF;
	c.opcode = UNIFIED_IO_OP_RECV;
	EXPECT_FALSE(unio_cqe_is_notif(&c));
	c.opcode = UNIFIED_IO_OP_NVME;			/* an NVMe status field */
	EXPECT_FALSE(unio_cqe_is_notif(&c));
}

/*
 * SEND over a loopback TCP connection: a region of 16 buffers of 64 KiB, a
 * connected pair (@tx the region's side, @rx the receiver), and the NVMe
 * namespace when the machine has one (the guest's /dev/ng0n1).
 */
#define SEND_BUF	(64U << 10)
#define SEND_NR_BUFS	16
#define SEND_OWNER	0x5e
#define SEND_WAIT_NS	(30ULL * 1000000000ULL)
/* Blocks of the namespace this file writes (the nvme tests use 16..127 MiB). */
#define SEND_NVME_AREA	(40ULL << 24)

FIXTURE(lib_send) {
	struct unio_region *r;
	struct unio_queue *q;
	const struct unified_io_buf_entry *bt;
	int tx, rx;
};

/* A connected loopback pair; the receiver's SO_RCVBUF @rcvbuf if not 0. */
static void __tcp_pair(struct __test_metadata *_metadata, int rcvbuf,
		       int *tx, int *rx)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t alen = sizeof(a);
	int l, one = 1;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, l);
	/* Set before the connection exists: the window is sized from it. */
	if (rcvbuf)
		ASSERT_EQ(0, setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
					sizeof(rcvbuf)));
	ASSERT_EQ(0, bind(l, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(l, 1));
	ASSERT_EQ(0, getsockname(l, (struct sockaddr *)&a, &alen));
	*tx = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, *tx);
	ASSERT_EQ(0, connect(*tx, (struct sockaddr *)&a, sizeof(a)));
	*rx = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, *rx);
	close(l);
	ASSERT_EQ(0, setsockopt(*tx, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
}

#define tcp_pair(rcvbuf, tx, rx)	__tcp_pair(_metadata, rcvbuf, tx, rx)

FIXTURE_SETUP(lib_send)
{
	const struct unified_io_region_layout *l;
	uint32_t feat = 0;

	self->r = NULL;
	self->tx = self->rx = -1;
	UT_REQUIRE_DEVICE();
	ASSERT_EQ(0, unio_get_features(NULL, &feat));
	if (!(feat & UNIFIED_IO_FEAT_NET_SEND))
		SKIP(return, "no UNIFIED_IO_FEAT_NET_SEND");

	UNIO_OPTS(opts, .sq_entries = 16, .cq_entries = 32,
		  .buf_size = SEND_BUF, .data_size = SEND_NR_BUFS * SEND_BUF);
	ASSERT_EQ(0, unio_region_create(&opts, &self->r));
	self->q = unio_region_queue(self->r);
	ASSERT_NE(NULL, self->q);
	/* The buffer table: the mapping's start is data minus data_off. */
	l = unio_region_layout(self->r);
	self->bt = (const struct unified_io_buf_entry *)
		((const char *)unio_region_data(self->r) - l->data_off +
		 l->desc_off + l->buf_table);
}

FIXTURE_TEARDOWN(lib_send)
{
	if (self->tx >= 0)
		close(self->tx);
	if (self->rx >= 0)
		close(self->rx);
	if (self->r)
		unio_region_destroy(self->r);
}

/*
 * One stream of @len bytes at data-area @off over (@tx, @rx): SENDs of what
 * is left until every byte is queued (waiting for POLLOUT after a partial
 * one), the receiver reading as it goes, until every notification is in.
 * @queued and @sends may start above 0 (a SEND the caller made).
 */
struct xfer {
	uint64_t off;
	uint32_t len;
	uint32_t queued;	/* bytes SENDs queued */
	uint32_t sends;		/* SENDs that queued bytes */
	uint32_t notifs;
	uint32_t notifs_copied;	/* with UNIFIED_IO_CQE_F_COPIED */
	uint64_t notif_bytes;
	uint32_t received;
	uint8_t *got;		/* @len bytes: what the receiver read */
};

static void __xfer_run(struct __test_metadata *_metadata,
		       struct unio_region *r, int tx, int rx, struct xfer *x)
{
	uint64_t deadline = ut_now_ns() + SEND_WAIT_NS;
	bool want_pollout = false, send_pending = false;

	while (x->queued < x->len || x->received < x->len ||
	       x->notifs < x->sends) {
		struct pollfd pfd[3] = {
			{ .fd = rx, .events = POLLIN },
			{ .fd = unio_region_fd(r), .events = POLLIN },
			{ .fd = tx, .events = POLLOUT },
		};
		struct unified_io_cqe cqe[8];
		bool progress = false;
		ssize_t n;
		int i, got;

		if (x->queued < x->len && !want_pollout && !send_pending) {
			struct unified_io_desc d = {};

			unio_prep_send(&d, tx, SEND_OWNER, x->off + x->queued,
				       x->len - x->queued, 0, x->queued);
			ASSERT_EQ(1, unio_submit_descs(r, &d, 1));
			send_pending = true;
		}
		got = unio_reap(r, cqe, 8, 0, 0);
		ASSERT_LE(0, got) TH_LOG("unio_reap: %s", strerror(-got));
		for (i = 0; i < got; i++) {
			ASSERT_EQ(UNIFIED_IO_OP_SEND, cqe[i].opcode);
			if (unio_cqe_is_notif(&cqe[i])) {
				EXPECT_LT(0, cqe[i].res);
				EXPECT_EQ(x->off + cqe[i].user_data, cqe[i].addr);
				EXPECT_EQ(0U, cqe[i].flags & UNIFIED_IO_CQE_F_MORE);
				x->notifs++;
				x->notif_bytes += cqe[i].res;
				if (cqe[i].flags & UNIFIED_IO_CQE_F_COPIED)
					x->notifs_copied++;
				progress = true;
				continue;
			}
			ASSERT_TRUE(send_pending);
			send_pending = false;
			ASSERT_EQ(x->queued, cqe[i].user_data);
			EXPECT_EQ(x->off + x->queued, cqe[i].addr);
			if (cqe[i].res == -EAGAIN) {
				EXPECT_EQ(0U, cqe[i].flags);
				want_pollout = true;
				continue;
			}
			ASSERT_LT(0, cqe[i].res) TH_LOG("SEND: %s", strerror(-cqe[i].res));
			ASSERT_GE(x->len - x->queued, (uint32_t)cqe[i].res);
			EXPECT_NE(0U, cqe[i].flags & UNIFIED_IO_CQE_F_MORE);
			EXPECT_EQ(0U, cqe[i].flags & UNIFIED_IO_CQE_F_NOTIF);
			x->queued += cqe[i].res;
			x->sends++;
			progress = true;
		}
		n = recv(rx, x->got + x->received, x->len - x->received,
			 MSG_DONTWAIT);
		if (n > 0) {
			x->received += n;
			progress = true;
		} else {
			ASSERT_TRUE(n < 0 && errno == EAGAIN)
				TH_LOG("recv: %zd (%s) after %u of %u bytes", n,
				       n ? strerror(errno) : "end of stream",
				       x->received, x->len);
		}
		if (progress)
			continue;
		ASSERT_GT(deadline, ut_now_ns())
			TH_LOG("stuck: %u of %u bytes queued, %u received, %u of %u notifications",
			       x->queued, x->len, x->received, x->notifs, x->sends);
		/* A SEND completes within SUBMIT: no wait for it. */
		if (send_pending)
			continue;
		ASSERT_LE(0, poll(pfd, want_pollout ? 3 : 2, 100));
		if (pfd[2].revents & POLLOUT)
			want_pollout = false;
	}
}

#define xfer_run(x)	__xfer_run(_metadata, self->r, self->tx, self->rx, x)

static void fill(uint8_t *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = ut_pattern(seed, i);
}

/* Index of the first byte of @p that is not pattern @seed, or @len. */
static size_t first_diff(const uint8_t *p, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != ut_pattern(seed, i))
			break;
	return i;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	return !p[0] && !memcmp(p, p + 1, len - 1);
}

/*
 * The whole life of a buffer sent over loopback: ALLOC, fill, SEND, every
 * byte checked at the receiver, the notification (F_COPIED: delivery to a
 * local socket copies), the counters before and after, the buffer back to
 * APP and freed. Arguments unio_send_get_info() refuses, first.
 */
TEST_F(lib_send, loopback)
{
	struct unified_io_send_info si;
	struct xfer x = { .len = 3 * SEND_BUF / 4 };
	uint8_t *data = unio_region_data(self->r);
	uint64_t off;
	unsigned int idx;

	EXPECT_EQ(-EINVAL, unio_send_get_info(NULL, &si));
	EXPECT_EQ(-EINVAL, unio_send_get_info(self->r, NULL));
	memset(&si, 0xcc, sizeof(si));
	ASSERT_EQ(0, unio_send_get_info(self->r, &si));
	EXPECT_EQ(0ULL, si.sends);
	EXPECT_EQ(0ULL, si.send_bytes);
	EXPECT_EQ(0ULL, si.notifs);
	EXPECT_EQ(0ULL, si.zc_bytes);
	EXPECT_EQ(0ULL, si.copied_bytes);
	EXPECT_EQ(0ULL, si.bpf_drops);
	EXPECT_EQ(0U, si.inflight);
	EXPECT_EQ(0U, si.bufs_sending);
	for (unsigned int i = 0; i < UT_ARRAY_SIZE(si.resv); i++)
		EXPECT_EQ(0ULL, si.resv[i]);

	tcp_pair(0, &self->tx, &self->rx);
	ASSERT_EQ(0, unio_buf_alloc(self->q, SEND_OWNER, &off));
	idx = off / SEND_BUF;
	/* Not from the start of the buffer: any range inside it goes. */
	x.off = off + 100;
	fill(data + x.off, x.len, 0x5e4d);
	x.got = malloc(x.len);
	ASSERT_NE(NULL, x.got);

	xfer_run(&x);
	EXPECT_EQ(x.len, first_diff(x.got, x.len, 0x5e4d));
	EXPECT_EQ(x.sends, x.notifs);
	EXPECT_EQ(x.len, x.notif_bytes);
	EXPECT_EQ(x.notifs, x.notifs_copied);	/* loopback copies */
	/* The last notification gave the buffer back. */
	EXPECT_EQ(UNIFIED_IO_BUF_APP, self->bt[idx].state);
	EXPECT_EQ(SEND_OWNER, self->bt[idx].owner);
	EXPECT_EQ(1, self->bt[idx].refs);

	ASSERT_EQ(0, unio_send_get_info(self->r, &si));
	EXPECT_EQ((__u64)x.sends, si.sends);
	EXPECT_EQ((__u64)x.len, si.send_bytes);
	EXPECT_EQ((__u64)x.sends, si.notifs);
	EXPECT_EQ(0ULL, si.zc_bytes);
	EXPECT_EQ((__u64)x.len, si.copied_bytes);
	EXPECT_EQ(0ULL, si.bpf_drops);
	EXPECT_EQ(0U, si.inflight);
	EXPECT_EQ(0U, si.bufs_sending);
	EXPECT_EQ(0, unio_buf_free(self->q, SEND_OWNER, off));
	free(x.got);
}

/*
 * A send kept in flight (the receiver's buffer small and unread, so the
 * stack holds most of the bytes): the buffer is SENDING, FREE and BPF are
 * refused, an NVMe READ into any part of it completes with EBUSY without
 * reaching the drive while one into the next buffer and a WRITE from it
 * run, and unio_submit_and_wait() waits for the notification. Then the
 * receiver reads: every byte is the one sent (the refused READ wrote
 * nothing), the notification comes, and the READ goes through.
 */
TEST_F(lib_send, inflight)
{
	struct unified_io_desc d = {};
	struct unified_io_cqe c;
	struct unified_io_send_info si;
	struct unio_nvme_info ni;
	struct unio_nvme *ns = NULL;
	struct xfer x = { .len = SEND_BUF };
	struct { uint64_t off; uint32_t nlb; } reads[3];
	uint8_t *data = unio_region_data(self->r);
	uint64_t off, off2, slba;
	uint32_t nlb;
	unsigned int idx, i;
	int ret;

	ret = unio_nvme_open(self->r, "/dev/ng0n1", NULL, &ns);
	if (ret == -ENOENT)
		SKIP(return, "no /dev/ng0n1");
	ASSERT_EQ(0, ret) TH_LOG("unio_nvme_open /dev/ng0n1: %s", strerror(-ret));
	ASSERT_EQ(0, unio_nvme_get_info(ns, &ni));
	nlb = SEND_BUF / ni.lba_size;
	slba = SEND_NVME_AREA / ni.lba_size;
	ASSERT_GE(ni.nr_lbas, slba + 2 * nlb);

	ASSERT_EQ(0, unio_buf_alloc(self->q, SEND_OWNER, &off));
	ASSERT_EQ(0, unio_buf_alloc(self->q, SEND_OWNER, &off2));
	ASSERT_NE(off, off2);
	idx = off / SEND_BUF;
	/* On the drive, another pattern than the one sent. */
	fill(data + off2, SEND_BUF, 0xd15c);
	unio_prep_nvme_write(&d, off2, slba, nlb, 1);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &c, SEND_WAIT_NS));
	ASSERT_EQ((int)SEND_BUF, c.res);

	/*
	 * A receive window of a few KiB, and nobody reading it: most of the
	 * buffer stays in the sender's queue. (Not the smallest SO_RCVBUF: a
	 * window below the segments the receiver has seen is advertised as
	 * zero, and the zero-window probes that move the rest back off to
	 * minutes.)
	 */
	tcp_pair(4096, &self->tx, &self->rx);
	fill(data + off, SEND_BUF, 0x5e4d);
	x.off = off;
	x.got = malloc(x.len);
	ASSERT_NE(NULL, x.got);

	/* unio_submit_and_wait() returns the completion. */
	memset(&d, 0, sizeof(d));
	unio_prep_send(&d, self->tx, SEND_OWNER, off, SEND_BUF, 0, 0);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &c, SEND_WAIT_NS));
	EXPECT_EQ(UNIFIED_IO_OP_SEND, c.opcode);
	EXPECT_EQ(off, c.addr);
	EXPECT_EQ(0ULL, c.user_data);
	ASSERT_LT(0, c.res) TH_LOG("SEND: %s", strerror(-c.res));
	EXPECT_EQ((__u32)UNIFIED_IO_CQE_F_MORE, c.flags);
	x.queued = c.res;
	x.sends = 1;
	/* ... and refuses to run anything before the notification. */
	memset(&d, 0, sizeof(d));
	unio_prep_nop(&d, 2);
	EXPECT_EQ(-EBUSY, unio_submit_and_wait(self->r, &d, &c, SEND_WAIT_NS));

	/* Still in flight: the window is far smaller than a buffer. */
	EXPECT_EQ(UNIFIED_IO_BUF_SENDING, self->bt[idx].state);
	EXPECT_EQ(SEND_OWNER, self->bt[idx].owner);
	EXPECT_EQ(2, self->bt[idx].refs);
	ASSERT_EQ(0, unio_send_get_info(self->r, &si));
	EXPECT_EQ(1U, si.inflight);
	EXPECT_EQ(1U, si.bufs_sending);
	EXPECT_EQ(0ULL, si.notifs);

	EXPECT_EQ(-EBUSY, unio_buf_free(self->q, SEND_OWNER, off));
	memset(&d, 0, sizeof(d));
	unio_prep_bpf(&d, SEND_OWNER, off, SEND_BUF, 3);
	ASSERT_EQ(1, unio_submit_descs(self->r, &d, 1));
	ASSERT_EQ(1, unio_reap(self->r, &c, 1, 1, SEND_WAIT_NS));
	EXPECT_EQ(-EBUSY, c.res);

	/* NVMe READs over the buffer: whole, its last block, across its edge. */
	reads[0].off = off;
	reads[0].nlb = nlb;
	reads[1].off = off + SEND_BUF - ni.lba_size;
	reads[1].nlb = 1;
	/* Two blocks across a buffer boundary, the second or the first in it. */
	reads[2].off = off ? off - ni.lba_size : off + SEND_BUF - ni.lba_size;
	reads[2].nlb = 2;
	for (i = 0; i < UT_ARRAY_SIZE(reads); i++) {
		memset(&d, 0, sizeof(d));
		unio_prep_nvme_read(&d, reads[i].off, slba, reads[i].nlb, 10 + i);
		ASSERT_EQ(1, unio_submit_descs(self->r, &d, 1));
		ASSERT_EQ(1, unio_reap(self->r, &c, 1, 1, SEND_WAIT_NS));
		EXPECT_EQ(UNIFIED_IO_OP_NVME, c.opcode);
		EXPECT_EQ(10ULL + i, c.user_data);
		EXPECT_EQ(reads[i].off, c.addr);
		EXPECT_EQ(-EBUSY, c.res) TH_LOG("read %u", i);
		EXPECT_EQ(0U, c.flags);
	}
	/* A WRITE from it only reads it; a READ elsewhere is not refused. */
	memset(&d, 0, sizeof(d));
	unio_prep_nvme_write(&d, off, slba + nlb, nlb, 20);
	ASSERT_EQ(1, unio_submit_descs(self->r, &d, 1));
	ASSERT_EQ(1, unio_reap(self->r, &c, 1, 1, SEND_WAIT_NS));
	EXPECT_EQ((int)SEND_BUF, c.res);
	memset(data + off2, 0, SEND_BUF);
	memset(&d, 0, sizeof(d));
	unio_prep_nvme_read(&d, off2, slba + nlb, nlb, 21);
	ASSERT_EQ(1, unio_submit_descs(self->r, &d, 1));
	ASSERT_EQ(1, unio_reap(self->r, &c, 1, 1, SEND_WAIT_NS));
	EXPECT_EQ((int)SEND_BUF, c.res);
	EXPECT_EQ((size_t)SEND_BUF, first_diff(data + off2, SEND_BUF, 0x5e4d));
	EXPECT_EQ(UNIFIED_IO_BUF_SENDING, self->bt[idx].state);

	/* The receiver reads: the rest is sent, the notification comes. */
	xfer_run(&x);
	EXPECT_EQ(x.len, first_diff(x.got, x.len, 0x5e4d));
	EXPECT_EQ(x.sends, x.notifs);
	EXPECT_EQ(x.notifs, x.notifs_copied);
	EXPECT_EQ(UNIFIED_IO_BUF_APP, self->bt[idx].state);
	EXPECT_EQ(1, self->bt[idx].refs);
	ASSERT_EQ(0, unio_send_get_info(self->r, &si));
	EXPECT_EQ(0U, si.inflight);
	EXPECT_EQ(0U, si.bufs_sending);

	/* Nothing due: one operation at a time again, and the READ runs. */
	memset(&d, 0, sizeof(d));
	unio_prep_nvme_read(&d, off, slba, nlb, 30);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &c, SEND_WAIT_NS));
	EXPECT_EQ((int)SEND_BUF, c.res);
	EXPECT_EQ((size_t)SEND_BUF, first_diff(data + off, SEND_BUF, 0xd15c));
	EXPECT_EQ(0, unio_buf_free(self->q, SEND_OWNER, off));
	EXPECT_EQ(0, unio_buf_free(self->q, SEND_OWNER, off2));
	unio_nvme_close(ns);
	free(x.got);
}

/*
 * unio_zcrx_register_mem(): every argument it refuses before the kernel
 * sees it, then a queue over anonymous memory without a NIC queue
 * (ZCRX_REG_NODEV, which every matrix kernel has), as unio-netstream
 * --mode zcrx registers it: the refill ring sized for the area's 48 pages,
 * rounded up to a power of two as the kernel does, and empty.
 */
TEST(zcrx_register_mem)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
			 IORING_SETUP_CQE32,
	};
	size_t ps = sysconf(_SC_PAGESIZE), len = 48 * ps;
	UNIO_ZCRX_OPTS(zo, .flags = UNIO_ZCRX_F_NODEV);
	UNIO_ZCRX_OPTS(off, .flags = UNIO_ZCRX_F_NODEV, .data_off = ps);
	UNIO_ZCRX_OPTS(sized, .flags = UNIO_ZCRX_F_NODEV, .len = len);
	UNIO_ZCRX_OPTS(flag, .flags = 1U << 31);
	UNIO_ZCRX_OPTS(noif, .rxq = 1);
	struct unio_zcrx *z = NULL;
	struct unio_zcrx_info zi;
	struct io_uring ring;
	char *area;

	area = mmap(NULL, len + ps, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	ASSERT_EQ(0, io_uring_queue_init_params(8, &ring, &p));

	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(NULL, area, len, &zo, &z));
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, NULL, len, &zo, &z));
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area, len, &zo, NULL));
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area + 64, len, &zo, &z));
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area, 0, &zo, &z));
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area, len + 1, &zo, &z));
	/* The area is the arguments', never the options'. */
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area, len, &off, &z));
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area, len, &sized, &z));
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area, len, &flag, &z));
	/* A NIC queue needs an interface. */
	EXPECT_EQ(-EINVAL, unio_zcrx_register_mem(&ring, area, len, &noif, &z));
	EXPECT_EQ(NULL, z);

	/* io_uring asks for CAP_NET_ADMIN to register a zcrx queue. */
	if (!ut_has_cap(CAP_NET_ADMIN)) {
		io_uring_queue_exit(&ring);
		munmap(area, len + ps);
		SKIP(return, "no CAP_NET_ADMIN");
	}
	ASSERT_EQ(0, unio_zcrx_register_mem(&ring, area, len, &zo, &z));
	ASSERT_EQ(0, unio_zcrx_get_info(z, &zi));
	EXPECT_EQ((void *)area, zi.area);
	EXPECT_EQ(0U, zi.data_off);
	EXPECT_EQ(len, zi.len);
	ASSERT_NE(NULL, zi.rq);
	/* One refill entry per page of the area, rounded up: 48 -> 64. */
	EXPECT_EQ(64U, zi.rq->ring_entries);
	EXPECT_EQ(0U, zi.rx_buf_len % ps);
	/* Nothing received yet: the kernel's refill ring is empty. */
	EXPECT_EQ(*zi.rq->khead, *zi.rq->ktail);

	unio_zcrx_destroy(z);
	io_uring_queue_exit(&ring);
	munmap(area, len + ps);
}

/*
 * A READ the library splits (longer than the namespace's largest transfer,
 * one command in flight at a time) is checked again before each piece: the
 * first goes to the drive, then a SEND of a buffer in the second piece's
 * range starts, and the second is never issued. The completion is -EBUSY,
 * the first piece's bytes are in place, the second's are not, and the
 * bytes sent are the ones the receiver gets.
 */
/*
 * unio_submit_and_wait() asks the kernel about SEND notifications to come,
 * however the completions were consumed: a SEND whose completion and
 * notification went through the queue interface (unio_peek_cqe()) leaves
 * nothing due, and one whose notification has not come keeps it busy.
 */
TEST_F(lib_send, notif_consumed_by_queue)
{
	struct unified_io_desc d, *sqe;
	struct unified_io_cqe c, *p;
	char got[4096];
	uint64_t off;
	size_t have = 0;

	tcp_pair(0, &self->tx, &self->rx);
	ASSERT_EQ(0, unio_buf_alloc(self->q, SEND_OWNER, &off));
	memset((char *)unio_region_data(self->r) + off, 0x3c, sizeof(got));
	sqe = unio_get_sqe(self->q);
	ASSERT_NE(NULL, sqe);
	memset(sqe, 0, sizeof(*sqe));
	unio_prep_send(sqe, self->tx, SEND_OWNER, off, sizeof(got), 0, 7);
	unio_sq_flush(self->q);
	ASSERT_EQ(1, unio_submit(self->q));
	p = unio_peek_cqe(self->q);
	ASSERT_NE(NULL, p);
	EXPECT_EQ((int)sizeof(got), p->res);
	EXPECT_NE(0U, p->flags & UNIFIED_IO_CQE_F_MORE);
	unio_cqe_seen(self->q);
	while (have < sizeof(got)) {
		ssize_t n = recv(self->rx, got + have, sizeof(got) - have, 0);

		ASSERT_LT(0, n);
		have += n;
	}
	/* The notification, through the queue interface as well. */
	ASSERT_LE(1, unio_wait_cqes(self->q, 1, SEND_WAIT_NS));
	p = unio_peek_cqe(self->q);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(unio_cqe_is_notif(p));
	unio_cqe_seen(self->q);
	/* Nothing is due: the next operation runs. */
	memset(&d, 0, sizeof(d));
	unio_prep_nop(&d, 8);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &c, SEND_WAIT_NS));
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(8ULL, c.user_data);
	EXPECT_EQ(0, unio_buf_free(self->q, SEND_OWNER, off));
}

TEST_F(lib_send, nvme_read_split)
{
	UNIO_NVME_OPTS(nopts, .queue_depth = 1);
	const uint64_t data_size = SEND_NR_BUFS * SEND_BUF;
	struct unified_io_desc d[2] = {};
	struct unified_io_cqe c[2];
	struct unio_nvme_info ni;
	struct unio_nvme *ns = NULL;
	struct xfer x = { .len = SEND_BUF };
	uint8_t *data = unio_region_data(self->r);
	uint64_t off, mt, sending = ~0ULL, slba;
	unsigned int i, got = 0, nvme = 0, send = 0;
	int ret;

	ret = unio_nvme_open(self->r, "/dev/ng0n1", &nopts, &ns);
	if (ret == -ENOENT)
		SKIP(return, "no /dev/ng0n1");
	ASSERT_EQ(0, ret) TH_LOG("unio_nvme_open /dev/ng0n1: %s", strerror(-ret));
	ASSERT_EQ(0, unio_nvme_get_info(ns, &ni));
	mt = ni.max_transfer;
	if (2 * mt > data_size || mt % SEND_BUF) {
		unio_nvme_close(ns);
		SKIP(return, "largest transfer %" PRIu64 ": not two in %" PRIu64 " bytes",
		     mt, data_size);
	}
	slba = (SEND_NVME_AREA + (1ULL << 20)) / ni.lba_size;
	ASSERT_GE(ni.nr_lbas, slba + 2 * mt / ni.lba_size);

	/* Every buffer held; the one to send is in the second piece's range. */
	for (i = 0; i < SEND_NR_BUFS; i++) {
		ASSERT_EQ(0, unio_buf_alloc(self->q, SEND_OWNER, &off));
		if (off >= mt && off < 2 * mt && sending == ~0ULL)
			sending = off;
	}
	ASSERT_NE(~0ULL, sending);
	/* The drive holds one pattern, the region zeroes and what is sent. */
	fill(data, 2 * mt, 0xd15c);
	unio_prep_nvme_write(&d[0], 0, slba, 2 * mt / ni.lba_size, 1);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d[0], &c[0], SEND_WAIT_NS));
	ASSERT_EQ((int)(2 * mt), c[0].res);
	memset(data, 0, 2 * mt);
	fill(data + sending, SEND_BUF, 0x5e4d);

	tcp_pair(4096, &self->tx, &self->rx);
	memset(d, 0, sizeof(d));
	unio_prep_nvme_read(&d[0], 0, slba, 2 * mt / ni.lba_size, 2);
	ASSERT_EQ(1, unio_submit_descs(self->r, &d[0], 1));
	/* The first piece is with the drive; the second waits for it. */
	unio_prep_send(&d[1], self->tx, SEND_OWNER, sending, SEND_BUF, 0, 0);
	ASSERT_EQ(1, unio_submit_descs(self->r, &d[1], 1));
	/*
	 * Both in one call: the pump of the unio_reap() that takes the SEND's
	 * completion refuses the READ, whose completion it then returns.
	 */
	while (got < 2) {
		ret = unio_reap(self->r, c, 2 - got, 2 - got, SEND_WAIT_NS);
		ASSERT_LT(0, ret) TH_LOG("unio_reap: %s", strerror(-ret));
		for (i = 0; i < (unsigned int)ret; i++) {
			if (c[i].opcode == UNIFIED_IO_OP_NVME) {
				nvme++;
				EXPECT_EQ(2ULL, c[i].user_data);
				EXPECT_EQ(-EBUSY, c[i].res);
				EXPECT_EQ(0U, c[i].flags);
			} else {
				send++;
				ASSERT_EQ(UNIFIED_IO_OP_SEND, c[i].opcode);
				ASSERT_FALSE(unio_cqe_is_notif(&c[i]));
				ASSERT_LT(0, c[i].res) TH_LOG("SEND: %s", strerror(-c[i].res));
				x.queued = c[i].res;
				x.sends = 1;
			}
		}
		got += ret;
	}
	EXPECT_EQ(1U, nvme);
	EXPECT_EQ(1U, send);
	/* The first piece's bytes, nothing of the second. */
	EXPECT_EQ(mt, first_diff(data, mt, 0xd15c));
	for (off = mt; off < 2 * mt; off += SEND_BUF) {
		if (off == sending) {
			EXPECT_EQ((size_t)SEND_BUF,
				  first_diff(data + off, SEND_BUF, 0x5e4d));
		} else {
			EXPECT_TRUE(all_zero(data + off, SEND_BUF))
				TH_LOG("buffer at %" PRIu64 " written", off);
		}
	}

	x.off = sending;
	x.got = malloc(x.len);
	ASSERT_NE(NULL, x.got);
	xfer_run(&x);
	EXPECT_EQ(x.len, first_diff(x.got, x.len, 0x5e4d));
	EXPECT_EQ(x.sends, x.notifs);
	unio_nvme_close(ns);
	free(x.got);
}

/* The 1.7 helpers: the descriptor fields they set and the final test. */
TEST(prep_armed)
{
	struct unified_io_desc d;
	struct unified_io_cqe c;

	memset(&d, 0xff, sizeof(d));
	d.len = 0;	/* the helpers leave the other fields as they found them */
	unio_prep_recv_armed(&d, 7, 3, UNIFIED_IO_RECV_F_BPF, 0x1234);
	EXPECT_EQ(UNIFIED_IO_OP_RECV, d.opcode);
	EXPECT_EQ(3, d.owner);
	EXPECT_EQ(0U, d.len);
	EXPECT_EQ(7, d.net.fd);
	EXPECT_EQ((__u32)(UNIFIED_IO_RECV_F_ARM | UNIFIED_IO_RECV_F_BPF),
		  d.net.flags);
	EXPECT_EQ(0x1234ULL, d.user_data);

	memset(&d, 0xff, sizeof(d));
	unio_prep_cancel(&d, 9, 42);
	EXPECT_EQ(UNIFIED_IO_OP_CANCEL, d.opcode);
	EXPECT_EQ(0, d.owner);
	EXPECT_EQ(0ULL, d.addr);
	EXPECT_EQ(0U, d.len);
	EXPECT_EQ(9, d.net.fd);
	EXPECT_EQ(0U, d.net.flags);
	EXPECT_EQ(42ULL, d.user_data);

	memset(&d, 0xff, sizeof(d));
	unio_prep_cancel_all(&d, 43);
	EXPECT_EQ(UNIFIED_IO_OP_CANCEL, d.opcode);
	EXPECT_EQ(-1, d.net.fd);
	EXPECT_EQ((__u32)UNIFIED_IO_CANCEL_F_ALL, d.net.flags);
	EXPECT_EQ(0U, d.len);
	EXPECT_EQ(0ULL, d.addr);

	memset(&c, 0, sizeof(c));
	c.opcode = UNIFIED_IO_OP_RECV;
	c.flags = UNIFIED_IO_CQE_F_MORE | UNIFIED_IO_CQE_F_COPIED;
	EXPECT_FALSE(unio_cqe_is_final(&c));
	c.flags = UNIFIED_IO_CQE_F_COPIED;
	EXPECT_TRUE(unio_cqe_is_final(&c));
	c.opcode = UNIFIED_IO_OP_SEND;
	c.flags = UNIFIED_IO_CQE_F_MORE;
	EXPECT_FALSE(unio_cqe_is_final(&c));
	c.flags = UNIFIED_IO_CQE_F_NOTIF;
	EXPECT_TRUE(unio_cqe_is_final(&c));
	/* An NVMe status with bit 1 set is not F_MORE. */
	c.opcode = UNIFIED_IO_OP_NVME;
	c.res = -EIO;
	c.flags = UNIFIED_IO_CQE_F_MORE;
	EXPECT_TRUE(unio_cqe_is_final(&c));
}

/*
 * Armed RECV through the library, on the module's ring and, when the kernel
 * has UNIFIED_IO_FEAT_URING_CMD, on io_uring: 64 buffers of 4 KiB.
 */
#define ARM_BUF		4096U
#define ARM_NR_BUFS	64U
#define ARM_OWNER	5
#define ARM_UD		0xa4a4ULL
#define ARM_WAIT_NS	(20ULL * 1000000000ULL)

FIXTURE(lib_armed) {
	struct unio_region *r;
	struct unio_queue *q;
	uint32_t feat;
	int tx, rx;
	struct nl_pair pair;	/* the veth variants' */
};

FIXTURE_VARIANT(lib_armed) {
	uint32_t ring;
	bool nvme;	/* a namespace attached: unio_reap() sleeps in io_uring */
	bool veth;	/* TCP over a veth pair between two namespaces, not lo */
};

FIXTURE_VARIANT_ADD(lib_armed, module) {
	.ring = UNIO_RING_MODULE,
};

FIXTURE_VARIANT_ADD(lib_armed, module_nvme) {
	.ring = UNIO_RING_MODULE,
	.nvme = true,
};

FIXTURE_VARIANT_ADD(lib_armed, io_uring) {
	.ring = UNIO_RING_IO_URING,
};

FIXTURE_VARIANT_ADD(lib_armed, module_veth) {
	.ring = UNIO_RING_MODULE,
	.veth = true,
};

FIXTURE_VARIANT_ADD(lib_armed, io_uring_veth) {
	.ring = UNIO_RING_IO_URING,
	.veth = true,
};

/*
 * A connected pair over veth: the listener in the rx namespace (the
 * caller's, after nl_pair_create()), the sender's socket made in the tx
 * namespace.
 */
static void __veth_pair(struct __test_metadata *_metadata, struct nl_pair *p,
			int *tx, int *rx)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int l, one = 1, ret;

	ret = nl_pair_create(p, "veth");
	if (ret == -EOPNOTSUPP)
		SKIP(return, "no veth");
	if (ret == -EPERM)
		SKIP(return, "network namespaces need CAP_SYS_ADMIN");
	ASSERT_EQ(0, ret) TH_LOG("veth pair: %s", p->err);
	a.sin_addr = p->rx_addr;
	/* lo too, for the tests that make a second (loopback) pair. */
	ASSERT_EQ(0, nl_lo_up());
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, bind(l, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(l, 1));
	ASSERT_EQ(0, getsockname(l, (struct sockaddr *)&a, &alen));
	ASSERT_EQ(0, nl_netns_enter(p->ns_tx));
	*tx = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_EQ(0, nl_netns_enter(p->ns_rx));
	ASSERT_LE(0, *tx);
	ret = connect(*tx, (struct sockaddr *)&a, sizeof(a));
	ASSERT_EQ(0, ret) TH_LOG("connect %s:%u: %s", inet_ntoa(a.sin_addr),
				 ntohs(a.sin_port), strerror(errno));
	*rx = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, *rx);
	close(l);
	ASSERT_EQ(0, setsockopt(*tx, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
}

FIXTURE_SETUP(lib_armed)
{
	uint32_t feat = 0;

	self->r = NULL;
	self->tx = self->rx = -1;
	memset(&self->pair, 0, sizeof(self->pair));
	self->pair.ns_orig = self->pair.ns_rx = self->pair.ns_tx = -1;
	UT_REQUIRE_DEVICE();
	ASSERT_EQ(0, unio_get_features(NULL, &feat));
	self->feat = feat;
	if (variant->ring == UNIO_RING_IO_URING &&
	    !(feat & UNIFIED_IO_FEAT_URING_CMD))
		SKIP(return, "no UNIFIED_IO_FEAT_URING_CMD");

	UNIO_OPTS(opts, .sq_entries = 32, .cq_entries = 128,
		  .buf_size = ARM_BUF, .data_size = ARM_NR_BUFS * ARM_BUF,
		  .ring = variant->ring);
	ASSERT_EQ(0, unio_region_create(&opts, &self->r));
	EXPECT_EQ((int)variant->ring, unio_region_ring(self->r));
	self->q = unio_region_queue(self->r);
	ASSERT_NE(NULL, self->q);
	if (variant->nvme) {
		struct unio_nvme *ns;
		int ret = unio_nvme_open(self->r, "/dev/ng0n1", NULL, &ns);

		if (ret == -ENOENT || ret == -ENODEV)
			SKIP(return, "no /dev/ng0n1");
		ASSERT_EQ(0, ret) TH_LOG("unio_nvme_open /dev/ng0n1: %s",
					 strerror(-ret));
	}
	if (variant->veth)
		__veth_pair(_metadata, &self->pair, &self->tx, &self->rx);
	else
		tcp_pair(0, &self->tx, &self->rx);
}

FIXTURE_TEARDOWN(lib_armed)
{
	if (self->tx >= 0)
		close(self->tx);
	if (self->rx >= 0)
		close(self->rx);
	if (self->r)
		unio_region_destroy(self->r);
	if (self->pair.ns_orig >= 0)
		nl_pair_destroy(&self->pair);
}

/* Byte @i of the test stream. */
static uint8_t arm_byte(uint64_t i)
{
	return (uint8_t)(i * 131 + (i >> 11) * 7 + 1);
}

struct arm_writer {
	int fd;
	uint64_t total;
	uint64_t delay_ns;	/* before the first byte */
	bool shut;		/* shutdown(SHUT_WR) after the last */
	int err;
};

/* Write the stream in pieces of 1 to 9000 bytes. */
static void *arm_write(void *arg)
{
	struct arm_writer *w = arg;
	uint8_t buf[9000];
	uint64_t off = 0, seed = 1;

	if (w->delay_ns)
		nanosleep(&(struct timespec){ .tv_sec = w->delay_ns / 1000000000ULL,
					      .tv_nsec = w->delay_ns % 1000000000ULL },
			  NULL);
	while (off < w->total) {
		size_t len, i;
		ssize_t n;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		len = 1 + (seed >> 33) % sizeof(buf);
		if (len > w->total - off)
			len = w->total - off;
		for (i = 0; i < len; i++)
			buf[i] = arm_byte(off + i);
		n = write(w->fd, buf, len);
		if (n <= 0) {
			w->err = n < 0 ? errno : EPIPE;
			return NULL;
		}
		off += n;
	}
	if (w->shut && shutdown(w->fd, SHUT_WR))
		w->err = errno;
	return NULL;
}

/* The region's counters, as mapped (struct unified_io_stats). */
static const struct unified_io_stats *arm_stats(struct unio_region *r)
{
	const struct unified_io_region_layout *l = unio_region_layout(r);

	return (const void *)((const char *)unio_region_data(r) - l->data_off +
			      l->stats);
}

struct arm_rx {
	uint64_t got;		/* stream bytes received and checked */
	uint64_t bad_at;	/* first byte that differed, or UINT64_MAX */
	unsigned int chunks;
	unsigned int arms;	/* armed RECVs submitted */
	unsigned int frees;	/* FREEs outstanding */
	unsigned int enobufs, enospc;	/* finals that made us arm again */
	int final;		/* the last final result */
	bool ended;		/* final result 0: the peer closed */
};

/*
 * Handle completions: check each chunk against the stream and FREE its
 * buffer; after a final -ENOBUFS or -ENOSPC arm again (the bytes stayed on
 * the socket).
 */
static void __arm_handle(struct __test_metadata *_metadata,
			 struct unio_region *r, int rx, struct arm_rx *a,
			 const struct unified_io_cqe *c, unsigned int n)
{
	struct unified_io_desc fr[128];
	unsigned int i, nfr = 0;
	const uint8_t *p;

	ASSERT_GE(128U, n);
	for (i = 0; i < n; i++) {
		if (c[i].opcode == UNIFIED_IO_OP_FREE) {
			ASSERT_EQ(0, c[i].res) TH_LOG("FREE: %s", strerror(-c[i].res));
			a->frees--;
			continue;
		}
		ASSERT_EQ(UNIFIED_IO_OP_RECV, c[i].opcode);
		ASSERT_EQ(ARM_UD + a->arms - 1, c[i].user_data);
		if (unio_cqe_is_final(&c[i])) {
			a->final = c[i].res;
			if (c[i].res == -ENOBUFS || c[i].res == -ENOSPC) {
				struct unified_io_desc d = {};

				a->enobufs += c[i].res == -ENOBUFS;
				a->enospc += c[i].res == -ENOSPC;
				unio_prep_recv_armed(&d, rx, ARM_OWNER, 0,
						     ARM_UD + a->arms);
				ASSERT_EQ(1, unio_submit_descs(r, &d, 1));
				a->arms++;
				continue;
			}
			ASSERT_EQ(0, c[i].res) TH_LOG("final: %s after %" PRIu64 " bytes",
						      strerror(-c[i].res), a->got);
			a->ended = true;
			continue;
		}
		ASSERT_LT(0, c[i].res);
		ASSERT_GE(ARM_BUF, (uint32_t)c[i].res);
		EXPECT_NE(0U, c[i].flags & UNIFIED_IO_CQE_F_COPIED);
		p = unio_data_ptr(unio_region_queue(r), c[i].addr);
		for (int32_t j = 0; j < c[i].res; j++)
			if (p[j] != arm_byte(a->got + j) && a->bad_at == UINT64_MAX)
				a->bad_at = a->got + j;
		a->got += c[i].res;
		a->chunks++;
		memset(&fr[nfr], 0, sizeof(fr[nfr]));
		unio_prep_free(&fr[nfr++], ARM_OWNER, c[i].addr & ~(uint64_t)(ARM_BUF - 1),
			       0xf000 + i);
	}
	if (nfr) {
		ASSERT_EQ((int)nfr, unio_submit_descs(r, fr, nfr));
		a->frees += nfr;
	}
}

#define arm_handle(a, c, n) __arm_handle(_metadata, self->r, self->rx, a, c, n)

/*
 * A 4 MiB stream in pieces of random size, received by one armed RECV
 * (armed again after ENOBUFS/ENOSPC) and checked byte for byte; the peer's
 * close ends it with a final 0 and every byte delivered.
 */
TEST_F(lib_armed, stream)
{
	struct arm_writer w = { .fd = self->tx, .total = 4U << 20, .shut = true };
	struct arm_rx a = { .bad_at = UINT64_MAX };
	uint64_t deadline = ut_now_ns() + ARM_WAIT_NS;
	struct unified_io_desc d = {};
	struct unified_io_cqe c[128];
	pthread_t th;

	if (!(self->feat & UNIFIED_IO_FEAT_RECV_ARM))
		SKIP(return, "no UNIFIED_IO_FEAT_RECV_ARM");
	unio_prep_recv_armed(&d, self->rx, ARM_OWNER, 0, ARM_UD);
	ASSERT_EQ(1, unio_submit_descs(self->r, &d, 1));
	a.arms = 1;
	/* Another RECV with the armed one's user_data: refused, nothing queued. */
	unio_prep_recv(&d, self->rx, ARM_OWNER, 0, 0, ARM_UD);
	EXPECT_EQ(-EINVAL, unio_submit_descs(self->r, &d, 1));

	ASSERT_EQ(0, pthread_create(&th, NULL, arm_write, &w));
	while (!a.ended || a.frees) {
		int n = unio_reap(self->r, c, 128, 0, 0);

		if (n == 0)
			n = unio_reap(self->r, c, 128, 1, 100000000ULL);
		if (n == -ETIME) {
			ASSERT_GT(deadline, ut_now_ns())
				TH_LOG("stuck after %" PRIu64 " bytes, %u chunks, %u arms",
				       a.got, a.chunks, a.arms);
			continue;
		}
		ASSERT_LT(0, n) TH_LOG("unio_reap: %s", strerror(-n));
		arm_handle(&a, c, n);
		if (_metadata->exit_code)
			break;
	}
	pthread_join(th, NULL);
	EXPECT_EQ(0, w.err);
	EXPECT_EQ(w.total, a.got);
	EXPECT_EQ(UINT64_MAX, a.bad_at);
	EXPECT_EQ(0, a.final);
	EXPECT_LT(1U, a.chunks);
	TH_LOG("%u chunks, %u arms (after %u ENOBUFS, %u ENOSPC)", a.chunks,
	       a.arms, a.enobufs, a.enospc);
	EXPECT_EQ(a.arms, 1 + a.enobufs + a.enospc);
}

/*
 * The armed path costs no system call while data is queued: with the
 * chunks of 64 KiB in the CQ, unio_reap() with min 0 takes them all and
 * neither SUBMIT nor COMPLETE is counted (struct unified_io_stats
 * submit_calls and waits). Once the CQ is empty, min 1 sleeps in COMPLETE
 * (waits moves) until more data comes. unio_submit_and_wait() of a CANCEL
 * then returns the CANCEL's completion and keeps the RECV's final one for
 * unio_reap().
 */
TEST_F(lib_armed, no_syscalls)
{
	struct arm_writer w = { .fd = self->tx, .total = 64U << 10 };
	struct arm_rx a = { .bad_at = UINT64_MAX };
	const struct unified_io_stats *st = arm_stats(self->r);
	uint64_t deadline = ut_now_ns() + ARM_WAIT_NS;
	uint64_t submits, waits, queued = 0;
	struct unified_io_desc d = {};
	struct unified_io_cqe c[128];
	pthread_t th;
	int n;

	if (variant->ring != UNIO_RING_MODULE)
		SKIP(return, "io_uring completions come through io_uring_enter()");
	if (!(self->feat & UNIFIED_IO_FEAT_RECV_ARM))
		SKIP(return, "no UNIFIED_IO_FEAT_RECV_ARM");

	unio_prep_recv_armed(&d, self->rx, ARM_OWNER, 0, ARM_UD);
	ASSERT_EQ(1, unio_submit_descs(self->r, &d, 1));
	a.arms = 1;
	arm_write(&w);
	ASSERT_EQ(0, w.err);

	/* Wait, without the library, until the CQ holds every byte. */
	while (queued < w.total) {
		uint32_t head = *self->q->cq.khead;
		uint32_t tail = unio_smp_load_acquire(self->q->cq.ktail);

		for (queued = 0; head != tail; head++) {
			const struct unified_io_cqe *e =
				&self->q->cq.cqes[head & self->q->cq.ring_mask];

			ASSERT_EQ(ARM_UD, e->user_data);
			ASSERT_FALSE(unio_cqe_is_final(e))
				TH_LOG("final %d with %" PRIu64 " bytes queued",
				       e->res, queued);
			queued += e->res;
		}
		ASSERT_GT(deadline, ut_now_ns())
			TH_LOG("%" PRIu64 " of %" PRIu64 " bytes in the CQ",
			       queued, w.total);
		usleep(1000);
	}
	submits = __atomic_load_n(&st->submit_calls, __ATOMIC_RELAXED);
	waits = __atomic_load_n(&st->waits, __ATOMIC_RELAXED);
	while (a.got < w.total) {
		/* 8 at a time: several calls, none of them a system call. */
		n = unio_reap(self->r, c, 8, 0, 0);
		ASSERT_LT(0, n) TH_LOG("%d after %" PRIu64 " bytes", n, a.got);
		for (int i = 0; i < n; i++) {
			ASSERT_EQ(UNIFIED_IO_OP_RECV, c[i].opcode);
			ASSERT_FALSE(unio_cqe_is_final(&c[i]));
			a.got += c[i].res;
			a.chunks++;
		}
	}
	EXPECT_EQ(w.total, a.got);
	EXPECT_EQ(submits, __atomic_load_n(&st->submit_calls, __ATOMIC_RELAXED));
	EXPECT_EQ(waits, __atomic_load_n(&st->waits, __ATOMIC_RELAXED));
	EXPECT_LT(8U, a.chunks);	/* more than one call's worth */

	/* Empty: min 0 returns at once, min 1 sleeps until the writer's bytes. */
	EXPECT_EQ(0, unio_reap(self->r, c, 8, 0, 0));
	EXPECT_EQ(waits, __atomic_load_n(&st->waits, __ATOMIC_RELAXED));
	w.total = 1000;
	w.delay_ns = 200000000ULL;
	ASSERT_EQ(0, pthread_create(&th, NULL, arm_write, &w));
	n = unio_reap(self->r, c, 8, 1, ARM_WAIT_NS);
	pthread_join(th, NULL);
	ASSERT_LT(0, n);
	EXPECT_EQ(UNIFIED_IO_OP_RECV, c[0].opcode);
	EXPECT_FALSE(unio_cqe_is_final(&c[0]));
	/* With a namespace the sleep is in io_uring, on a poll of the fd. */
	if (!variant->nvme) {
		EXPECT_LE(waits + 1, __atomic_load_n(&st->waits, __ATOMIC_RELAXED));
	} else {
		EXPECT_EQ(waits, __atomic_load_n(&st->waits, __ATOMIC_RELAXED));
	}
	EXPECT_EQ(submits, __atomic_load_n(&st->submit_calls, __ATOMIC_RELAXED));

	/* Its user_data is the armed RECV's: refused. */
	unio_prep_cancel(&d, self->rx, ARM_UD);
	EXPECT_EQ(-EINVAL, unio_submit_and_wait(self->r, &d, &c[0], 0));
	/* Beside the armed RECV: the CANCEL's completion, not the RECV's. */
	unio_prep_cancel(&d, self->rx, 77);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &c[0], ARM_WAIT_NS));
	EXPECT_EQ(UNIFIED_IO_OP_CANCEL, c[0].opcode);
	EXPECT_EQ(77ULL, c[0].user_data);
	EXPECT_EQ(1, c[0].res);
	/* The RECV's final completion (ECANCELED) was posted first: held. */
	n = unio_reap(self->r, c, 8, 0, 0);
	ASSERT_LE(1, n);
	EXPECT_EQ(UNIFIED_IO_OP_RECV, c[n - 1].opcode);
	EXPECT_EQ(ARM_UD, c[n - 1].user_data);
	EXPECT_TRUE(unio_cqe_is_final(&c[n - 1]));
	EXPECT_EQ(-ECANCELED, c[n - 1].res);
	/* Nothing armed now: the user_data is free again, nothing outstanding. */
	unio_prep_cancel(&d, self->rx, ARM_UD);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &c[0], ARM_WAIT_NS));
	EXPECT_EQ(-ENOENT, c[0].res);
}

/*
 * Destroying the region with an armed RECV that has delivered chunks and
 * is still armed (on io_uring: a multishot request on the provided buffer
 * ring the library unregisters) stops it without a final completion; the
 * socket stays usable and keeps what was not delivered.
 */
TEST_F(lib_armed, destroy_armed)
{
	struct arm_writer w = { .fd = self->tx, .total = 10000 };
	struct unified_io_desc d = {};
	struct unified_io_cqe c[16];
	uint64_t got = 0;
	uint8_t tail[64];
	ssize_t n;
	int ret;

	if (!(self->feat & UNIFIED_IO_FEAT_RECV_ARM))
		SKIP(return, "no UNIFIED_IO_FEAT_RECV_ARM");
	unio_prep_recv_armed(&d, self->rx, ARM_OWNER, 0, ARM_UD);
	ASSERT_EQ(1, unio_submit_descs(self->r, &d, 1));
	arm_write(&w);
	ASSERT_EQ(0, w.err);
	while (got < w.total) {
		ret = unio_reap(self->r, c, 16, 1, ARM_WAIT_NS);
		ASSERT_LT(0, ret) TH_LOG("unio_reap: %s", strerror(-ret));
		for (int i = 0; i < ret; i++) {
			ASSERT_FALSE(unio_cqe_is_final(&c[i]));
			got += c[i].res;
		}
	}
	EXPECT_EQ(w.total, got);
	unio_region_destroy(self->r);
	self->r = NULL;
	/* The arm is gone with the region: new bytes stay on the socket. */
	w.total = sizeof(tail);
	arm_write(&w);
	ASSERT_EQ(0, w.err);
	n = recv(self->rx, tail, sizeof(tail), MSG_WAITALL);
	ASSERT_EQ((ssize_t)sizeof(tail), n);
	EXPECT_EQ(arm_byte(0), tail[0]);
	EXPECT_EQ(arm_byte(sizeof(tail) - 1), tail[sizeof(tail) - 1]);
}

/*
 * unio_submit_and_wait() of an armed RECV returns its first chunk; a second
 * socket armed beside it; unio_prep_cancel_all() stops both (res 2), each
 * with its final -ECANCELED, after which the unified path is idle.
 */
TEST_F(lib_armed, cancel_all)
{
	struct arm_writer w = { .fd = self->tx, .total = 100 };
	struct unified_io_desc d = {};
	struct unified_io_cqe c[16];
	unsigned int finals = 0, seen = 0;
	uint64_t got = 0;
	int tx2 = -1, rx2 = -1, n;

	if (!(self->feat & UNIFIED_IO_FEAT_RECV_ARM))
		SKIP(return, "no UNIFIED_IO_FEAT_RECV_ARM");
	tcp_pair(0, &tx2, &rx2);
	arm_write(&w);
	ASSERT_EQ(0, w.err);
	unio_prep_recv_armed(&d, self->rx, ARM_OWNER, 0, ARM_UD);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &c[0], ARM_WAIT_NS));
	EXPECT_EQ(ARM_UD, c[0].user_data);
	EXPECT_FALSE(unio_cqe_is_final(&c[0]));
	ASSERT_LT(0, c[0].res);
	got = c[0].res;
	/* The rest of the 100 bytes, if they came in more than one chunk. */
	while (got < w.total) {
		n = unio_reap(self->r, c, 16, 1, ARM_WAIT_NS);
		ASSERT_LT(0, n);
		for (int i = 0; i < n; i++)
			got += c[i].res;
	}
	EXPECT_EQ(w.total, got);

	unio_prep_recv_armed(&d, rx2, ARM_OWNER, 0, ARM_UD + 1);
	ASSERT_EQ(1, unio_submit_descs(self->r, &d, 1));
	unio_prep_cancel_all(&d, 99);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &c[0], ARM_WAIT_NS));
	EXPECT_EQ(UNIFIED_IO_OP_CANCEL, c[0].opcode);
	EXPECT_EQ(2, c[0].res);
	while (finals < 2) {
		n = unio_reap(self->r, c, 16, 1, ARM_WAIT_NS);
		ASSERT_LT(0, n) TH_LOG("%u finals", finals);
		for (int i = 0; i < n; i++) {
			ASSERT_EQ(UNIFIED_IO_OP_RECV, c[i].opcode);
			ASSERT_TRUE(unio_cqe_is_final(&c[i]));
			EXPECT_EQ(-ECANCELED, c[i].res);
			/* Each once, in either order. */
			ASSERT_TRUE(c[i].user_data == ARM_UD ||
				    c[i].user_data == ARM_UD + 1);
			EXPECT_EQ(0U, seen & (1U << (c[i].user_data - ARM_UD)));
			seen |= 1U << (c[i].user_data - ARM_UD);
			finals++;
		}
	}
	/* Nothing armed, nothing outstanding. */
	EXPECT_EQ(0, unio_reap(self->r, c, 16, 0, 0));
	unio_prep_nop(&d, ARM_UD);
	ASSERT_EQ(0, unio_submit_and_wait(self->r, &d, &c[0], ARM_WAIT_NS));
	EXPECT_EQ(UNIFIED_IO_OP_NOP, c[0].opcode);
	close(tx2);
	close(rx2);
}

/*
 * One completion stream whatever ran the operation: a SEND on the unified
 * path gives the same two completions on both rings, the first with
 * UNIFIED_IO_CQE_F_MORE and the bytes queued, then the notification.
 */
TEST_F(lib_armed, send_two_completions)
{
	uint64_t deadline = ut_now_ns() + ARM_WAIT_NS;
	struct unified_io_desc d = {};
	struct unified_io_cqe c[4];
	unsigned int ncqe = 0, got = 0;
	uint8_t in[3000], *p;
	uint64_t off;

	if (!(self->feat & UNIFIED_IO_FEAT_NET_SEND))
		SKIP(return, "no UNIFIED_IO_FEAT_NET_SEND");
	ASSERT_EQ(0, unio_buf_alloc(self->q, ARM_OWNER, &off));
	p = unio_data_ptr(self->q, off);
	for (unsigned int i = 0; i < sizeof(in); i++)
		p[i] = arm_byte(i);
	unio_prep_send(&d, self->tx, ARM_OWNER, off, sizeof(in), 0, 55);
	ASSERT_EQ(1, unio_submit_descs(self->r, &d, 1));
	while (ncqe < 2 || got < sizeof(in)) {
		ssize_t n = recv(self->rx, in + got, sizeof(in) - got, MSG_DONTWAIT);
		int r;

		if (n > 0)
			got += n;
		ASSERT_GT(deadline, ut_now_ns())
			TH_LOG("%u completions, %u bytes", ncqe, got);
		r = unio_reap(self->r, c + ncqe, 4 - ncqe, 0, 0);
		ASSERT_LE(0, r);
		ncqe += r;
		if (!r && n <= 0)
			usleep(1000);
	}
	ASSERT_EQ(2U, ncqe);
	for (unsigned int i = 0; i < 2; i++) {
		EXPECT_EQ(UNIFIED_IO_OP_SEND, c[i].opcode);
		EXPECT_EQ(55ULL, c[i].user_data);
		EXPECT_EQ((int)sizeof(in), c[i].res);
		EXPECT_EQ(off, c[i].addr);
	}
	EXPECT_FALSE(unio_cqe_is_notif(&c[0]));
	EXPECT_FALSE(unio_cqe_is_final(&c[0]));
	EXPECT_TRUE(unio_cqe_is_notif(&c[1]));
	EXPECT_TRUE(unio_cqe_is_final(&c[1]));
	for (unsigned int i = 0; i < sizeof(in); i++)
		if (in[i] != arm_byte(i)) {
			EXPECT_EQ(arm_byte(i), in[i]) TH_LOG("byte %u", i);
			break;
		}
	EXPECT_EQ(0, unio_buf_free(self->q, ARM_OWNER, off));
}

/*
 * unio_submit_chain(): EOPNOTSUPP on the module's ring; on io_uring a NOP,
 * a FREE that fails (no such buffer held) and a NOP: the last is cancelled.
 */
TEST(lib_chain)
{
	struct unified_io_desc d[3] = {}, rd = {};
	struct unified_io_cqe c[3];
	struct unio_region *r;
	uint32_t feat = 0;
	int n, got = 0;

	UT_REQUIRE_DEVICE();
	ASSERT_EQ(0, unio_get_features(NULL, &feat));
	unio_prep_nop(&d[0], 1);
	unio_prep_free(&d[1], 3, 0, 2);	/* buffer 0 is free: -EALREADY */
	unio_prep_nop(&d[2], 3);

	UNIO_OPTS(mod, .sq_entries = 8, .buf_size = 4096, .data_size = 4 * 4096,
		  .ring = UNIO_RING_MODULE);
	ASSERT_EQ(0, unio_region_create(&mod, &r));
	EXPECT_EQ(UNIO_RING_MODULE, unio_region_ring(r));
	EXPECT_EQ(-EOPNOTSUPP, unio_submit_chain(r, d, 3));
	unio_region_destroy(r);

	UNIO_OPTS(uo, .sq_entries = 8, .buf_size = 4096, .data_size = 4 * 4096,
		  .ring = UNIO_RING_IO_URING);
	if (!(feat & UNIFIED_IO_FEAT_URING_CMD)) {
		EXPECT_EQ(-EOPNOTSUPP, unio_region_create(&uo, &r));
		/* AUTO falls back to the module's ring. */
		uo.ring = UNIO_RING_AUTO;
		ASSERT_EQ(0, unio_region_create(&uo, &r));
		EXPECT_EQ(UNIO_RING_MODULE, unio_region_ring(r));
		unio_region_destroy(r);
		SKIP(return, "no UNIFIED_IO_FEAT_URING_CMD");
	}
	ASSERT_EQ(0, unio_region_create(&uo, &r));
	EXPECT_EQ(UNIO_RING_IO_URING, unio_region_ring(r));
	EXPECT_EQ(-EINVAL, unio_submit_chain(r, d, 0));
	unio_prep_recv(&rd, 0, 3, 0, 0, 9);
	EXPECT_EQ(-EINVAL, unio_submit_chain(r, &rd, 1));
	ASSERT_EQ(3, unio_submit_chain(r, d, 3));
	while (got < 3) {
		n = unio_reap(r, c + got, 3 - got, 3 - got, ARM_WAIT_NS);
		ASSERT_LT(0, n) TH_LOG("unio_reap: %s", strerror(-n));
		got += n;
	}
	for (int i = 0; i < 3; i++) {
		switch (c[i].user_data) {
		case 1:
			EXPECT_EQ(UNIFIED_IO_OP_NOP, c[i].opcode);
			EXPECT_EQ(0, c[i].res);
			break;
		case 2:
			EXPECT_EQ(UNIFIED_IO_OP_FREE, c[i].opcode);
			EXPECT_EQ(-EALREADY, c[i].res);
			break;
		case 3:
			EXPECT_EQ(UNIFIED_IO_OP_NOP, c[i].opcode);
			EXPECT_EQ(-ECANCELED, c[i].res);
			break;
		default:
			EXPECT_TRUE(false) TH_LOG("user_data %" PRIu64,
						  (uint64_t)c[i].user_data);
		}
	}
	unio_region_destroy(r);
}

/*
 * Chains of both kinds on the library's io_uring ring, NVMe passthrough
 * and module operations: a WRITE then a READ of the same blocks (the READ
 * sees what the WRITE wrote); then a WRITE, a FREE that fails and a READ:
 * the READ is cancelled and did not run (its buffer keeps the first data),
 * and the WRITE before the failure did.
 */
TEST(lib_chain_nvme)
{
	struct unified_io_desc d[3];
	struct unified_io_cqe c[3];
	struct unio_nvme_info ni;
	struct unio_region *r;
	struct unio_nvme *ns;
	uint8_t *data, *a, *b, *w2;
	uint32_t feat = 0, nlb;
	uint64_t slba;
	int ret, got;

	UT_REQUIRE_DEVICE();
	ASSERT_EQ(0, unio_get_features(NULL, &feat));
	if (!(feat & UNIFIED_IO_FEAT_URING_CMD))
		SKIP(return, "no UNIFIED_IO_FEAT_URING_CMD");
	UNIO_OPTS(uo, .sq_entries = 8, .buf_size = 4096, .data_size = 4 * 4096,
		  .ring = UNIO_RING_IO_URING);
	ASSERT_EQ(0, unio_region_create(&uo, &r));
	ret = unio_nvme_open(r, "/dev/ng0n1", NULL, &ns);
	if (ret == -ENOENT || ret == -ENODEV) {
		unio_region_destroy(r);
		SKIP(return, "no /dev/ng0n1");
	}
	ASSERT_EQ(0, ret) TH_LOG("unio_nvme_open /dev/ng0n1: %s", strerror(-ret));
	ASSERT_EQ(0, unio_nvme_get_info(ns, &ni));
	nlb = 4096 / ni.lba_size;
	slba = (96ULL << 20) / ni.lba_size;	/* away from the other tests' */
	ASSERT_GE(ni.nr_lbas, slba + nlb);
	data = unio_region_data(r);
	a = data;
	b = data + 4096;
	w2 = data + 2 * 4096;
	fill(a, 4096, 0xc4a1);
	memset(b, 0, 4096);
	fill(w2, 4096, 0xc4a2);

	memset(d, 0, sizeof(d));
	unio_prep_nvme_write(&d[0], 0, slba, nlb, 1);
	unio_prep_nvme_read(&d[1], 4096, slba, nlb, 2);
	ASSERT_EQ(2, unio_submit_chain(r, d, 2));
	for (got = 0; got < 2; got += ret) {
		ret = unio_reap(r, c + got, 2 - got, 2 - got, ARM_WAIT_NS);
		ASSERT_LT(0, ret) TH_LOG("unio_reap: %s", strerror(-ret));
	}
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(UNIFIED_IO_OP_NVME, c[i].opcode);
		EXPECT_EQ(4096, c[i].res) TH_LOG("user_data %" PRIu64 ": %s",
						 (uint64_t)c[i].user_data,
						 strerror(-c[i].res));
	}
	EXPECT_EQ(first_diff(b, 4096, 0xc4a1), (size_t)4096);

	/* The middle link fails: the READ after it never runs. */
	memset(b, 0, 4096);
	memset(d, 0, sizeof(d));
	unio_prep_nvme_write(&d[0], 2 * 4096, slba, nlb, 11);
	unio_prep_free(&d[1], 3, 3 * 4096, 12);	/* a free buffer: EALREADY */
	unio_prep_nvme_read(&d[2], 4096, slba, nlb, 13);
	ASSERT_EQ(3, unio_submit_chain(r, d, 3));
	for (got = 0; got < 3; got += ret) {
		ret = unio_reap(r, c + got, 3 - got, 3 - got, ARM_WAIT_NS);
		ASSERT_LT(0, ret) TH_LOG("unio_reap: %s", strerror(-ret));
	}
	for (int i = 0; i < 3; i++) {
		switch (c[i].user_data) {
		case 11:
			EXPECT_EQ(4096, c[i].res);
			break;
		case 12:
			EXPECT_EQ(UNIFIED_IO_OP_FREE, c[i].opcode);
			EXPECT_EQ(-EALREADY, c[i].res);
			break;
		case 13:
			EXPECT_EQ(UNIFIED_IO_OP_NVME, c[i].opcode);
			EXPECT_EQ(-ECANCELED, c[i].res);
			break;
		default:
			EXPECT_TRUE(false) TH_LOG("user_data %" PRIu64,
						  (uint64_t)c[i].user_data);
		}
	}
	EXPECT_TRUE(all_zero(b, 4096));
	/* The WRITE before the failure ran: a READ now sees its data. */
	memset(d, 0, sizeof(d));
	unio_prep_nvme_read(&d[0], 4096, slba, nlb, 21);
	ASSERT_EQ(0, unio_submit_and_wait(r, &d[0], &c[0], ARM_WAIT_NS));
	EXPECT_EQ(4096, c[0].res);
	EXPECT_EQ(first_diff(b, 4096, 0xc4a2), (size_t)4096);
	unio_region_destroy(r);
}

TEST_HARNESS_MAIN
