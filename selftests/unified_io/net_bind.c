// SPDX-License-Identifier: GPL-2.0
/*
 * UNIFIED_IO_NET_BIND and UNIFIED_IO_NET_UNBIND: every documented errno,
 * each with a non-empty NUL-terminated message (the struct is poisoned
 * before the call), and a failed BIND leaves the region as it was (state
 * NONE, no buffer lent, a later BIND works). On the test NIC (unio_nic) in
 * its own namespace.
 *
 * Any kernel:
 *  refill_layout	SETUP's and GET_INFO's refill ring: where it lives,
 *			its size (every buffer fits), state NONE
 *  bad_fields		EINVAL for flags and reserved fields (BIND, UNBIND)
 *  unbind_unbound	ENOENT
 *  no_provider		without UNIFIED_IO_FEAT_NET_PROVIDER: EOPNOTSUPP
 * With UNIFIED_IO_FEAT_NET_PROVIDER (SKIP otherwise):
 *  bind_ok		"" on success; GET_INFO's binding and the region's
 *			accounting of the lent buffers; ALLOC never hands
 *			out a lent buffer
 *  unknown_ifindex	ENODEV (0, unused, the peer's index in the other
 *			namespace)
 *  no_queue_mgmt	EOPNOTSUPP on veth and lo
 *  rxq_range		ERANGE at the queue count and beyond
 *  queue_taken		EEXIST when another region provides the queue; a
 *			second queue works
 *  hds_off		EINVAL with tcp-data-split off
 *  buf_size		EINVAL for 8 KiB buffers
 *  nr_bufs		EINVAL for 0, ENOBUFS above the free buffers (also
 *			after ALLOC), and exactly all free buffers works
 *  twice		EBUSY while bound; after UNBIND (every buffer home)
 *			the region binds again, another queue too; UNBIND
 *			twice is ENOENT
 *  no_cap		EPERM without CAP_NET_ADMIN (device opened and set up
 *			first)
 *  netlink_identity	ynl's netdev queue and page-pool dumps (the patched
 *			kernel's spec) name the provider of the bound queue:
 *			module unified_io, id = GET_INFO's net.id
 *  userns_root		EPERM for root of a user namespace that owns the
 *			interface's network namespace: a bound queue sees
 *			other users' flows, so CAP_NET_ADMIN must be the
 *			initial namespace's, as for zcrx and devmem
 */
#include "net_test.h"

#define SQ	8
#define CQ	16
#define BUF	4096
#define NBUFS	64

FIXTURE(bind) {
	struct nl_pair p;
	struct nl_region r;
	bool provider;
};

FIXTURE_SETUP(bind)
{
	self->r.fd = -1;
	NT_REQUIRE_RECV();
	self->provider = nt_features() & UNIFIED_IO_FEAT_NET_PROVIDER;
	if (!nt_pair_create(&self->p, "unionic"))
		return;
	nt_region_create(&self->r, SQ, CQ, BUF, NBUFS);
}

FIXTURE_TEARDOWN(bind)
{
	nl_region_destroy(&self->r);
	nl_pair_destroy(&self->p);
}

#define NEED_PROVIDER() do {						\
	if (!self->provider)						\
		SKIP(return, "kernel without UNIFIED_IO_FEAT_NET_PROVIDER");	\
} while (0)

/* The raw ioctl on a poisoned struct; *msg gets the message. */
static int bind_call(int fd, unsigned long cmd, __u32 flags, __u32 ifindex,
		     __u32 rxq, __u32 nr_bufs, __u32 resv, __u64 resv2_0,
		     __u64 resv2_1, char msg[64])
{
	struct unified_io_net_bind b;
	int ret;

	memset(&b, 0xcc, sizeof(b));
	b.size = sizeof(b);
	b.flags = flags;
	b.ifindex = ifindex;
	b.rxq = rxq;
	b.nr_bufs = nr_bufs;
	b.resv = resv;
	b.resv2[0] = resv2_0;
	b.resv2[1] = resv2_1;
	ret = nl_bind_raw(fd, cmd, &b);
	memcpy(msg, b.msg, sizeof(b.msg));
	return ret;
}

/* A failure: @err, a non-empty NUL-terminated message. */
static void __expect_fail(struct __test_metadata *_metadata, int ret,
			  const char *msg, int err, const char *what)
{
	size_t len = strnlen(msg, 64);

	EXPECT_EQ(-err, ret) TH_LOG("%s: got %d (%s)", what, ret,
				    ret ? strerror(-ret) : "success");
	EXPECT_GT(64U, len) TH_LOG("%s: message not NUL-terminated", what);
	EXPECT_LT(0U, len) TH_LOG("%s: empty message", what);
	if (len && len < 64)
		TH_LOG("%s: %s -> \"%s\"", what, strerror(err), msg);
}

#define expect_fail(ret, msg, err, what)				\
	__expect_fail(_metadata, ret, msg, err, what)

/* The region is as SETUP left it: nothing lent, every buffer free. */
static void __expect_untouched(struct __test_metadata *_metadata,
			       struct nl_region *r, __u32 bufs_free,
			       const char *what)
{
	struct unified_io_info info;
	__u32 lent = 0;

	nt_info(r, &info);
	EXPECT_EQ((__u32)UNIFIED_IO_NET_NONE, info.net.state) TH_LOG("%s", what);
	EXPECT_EQ(0U, info.net.nr_bufs) TH_LOG("%s", what);
	EXPECT_EQ(0U, info.net.ifindex) TH_LOG("%s", what);
	EXPECT_EQ(bufs_free, info.stats.bufs_free) TH_LOG("%s", what);
	EXPECT_EQ(0U, info.stats.bufs_kernel) TH_LOG("%s", what);
	for (__u32 i = 0; i < r->l.nr_bufs; i++)
		lent += r->bt[i].state == UNIFIED_IO_BUF_KERNEL;
	EXPECT_EQ(0U, lent) TH_LOG("%s: buffers in state KERNEL", what);
}

#define expect_untouched(r, what)					\
	__expect_untouched(_metadata, r, (r)->l.nr_bufs, what)

/* BIND @r with @args, expect @err and an untouched region. */
#define expect_bind_fail(r, ifi, q, n, err, what) do {			\
	char __m[64];							\
	int __ret = bind_call((r)->fd, UNIFIED_IO_NET_BIND, 0, ifi, q,	\
			      n, 0, 0, 0, __m);				\
	expect_fail(__ret, __m, err, what);				\
	expect_untouched(r, what);					\
} while (0)

TEST_F(bind, refill_layout)
{
	const struct unified_io_ring_offsets *rl = &self->r.rl;
	struct unified_io_info info;

	EXPECT_TRUE(ut_is_pow2(rl->ring_entries));
	EXPECT_LE(self->r.l.nr_bufs, rl->ring_entries);
	EXPECT_GT(2 * self->r.l.nr_bufs, rl->ring_entries);
	EXPECT_EQ(rl->ring_entries - 1, rl->ring_mask);
	EXPECT_EQ(sizeof(struct unified_io_rfqe), rl->entry_size);
	EXPECT_GE(self->r.l.ctrl_size, rl->head + 4ULL);
	EXPECT_GE(self->r.l.ctrl_size, rl->tail + 4ULL);
	EXPECT_NE(rl->head, rl->tail);
	EXPECT_GE(self->r.l.desc_size, rl->array + (__u64)rl->ring_entries * 16);
	EXPECT_EQ(0U, rl->array % 16);
	EXPECT_EQ(0U, rl->resv[0]);
	EXPECT_EQ(0U, rl->resv[1]);
	/* The ring does not overlap the SQ, CQ or buffer table. */
	EXPECT_TRUE(rl->array >= self->r.l.buf_table + self->r.l.nr_bufs * 4 ||
		    rl->array + rl->ring_entries * 16 <= self->r.l.buf_table);
	EXPECT_TRUE(rl->array >= self->r.l.cq.array + self->r.l.cq.ring_entries * 32 ||
		    rl->array + rl->ring_entries * 16 <= self->r.l.cq.array);
	EXPECT_TRUE(rl->array >= self->r.l.sq.array + self->r.l.sq.ring_entries * 64 ||
		    rl->array + rl->ring_entries * 16 <= self->r.l.sq.array);
	EXPECT_EQ(0U, *self->r.rf_khead);
	EXPECT_EQ(0U, *self->r.rf_ktail);

	nt_info(&self->r, &info);
	EXPECT_EQ(0, memcmp(rl, &info.refill, sizeof(*rl)));
	EXPECT_NE(0U, info.config.features & UNIFIED_IO_FEAT_NET_RECV);
	EXPECT_EQ((__u32)UNIFIED_IO_NET_NONE, info.net.state);
	EXPECT_EQ(0U, info.net.nr_bufs);
	EXPECT_EQ(0U, info.net.bufs_app);
	EXPECT_EQ(0U, info.net.bufs_nic);
	EXPECT_NE(0U, info.net.id);
	EXPECT_EQ(0U, info.net.resv);
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(0U, info.net.resv2[i]);
}

TEST_F(bind, bad_fields)
{
	const struct {
		const char *what;
		__u32 flags, resv;
		__u64 r0, r1;
	} bad[] = {
		{ "flags bit 0", 1, 0, 0, 0 },
		{ "flags bit 31", 1U << 31, 0, 0, 0 },
		{ "resv", 0, 1, 0, 0 },
		{ "resv2[0]", 0, 0, 1, 0 },
		{ "resv2[1]", 0, 0, 0, 1ULL << 63 },
	};
	char msg[64];
	int ifi = self->p.rx_ifindex, ret;

	for (size_t i = 0; i < UT_ARRAY_SIZE(bad); i++) {
		ret = bind_call(self->r.fd, UNIFIED_IO_NET_BIND, bad[i].flags,
				ifi, NT_ZC_QUEUE, 8, bad[i].resv, bad[i].r0,
				bad[i].r1, msg);
		expect_fail(ret, msg, EINVAL, bad[i].what);
		expect_untouched(&self->r, bad[i].what);
	}

	/* UNBIND takes nothing. */
	ret = bind_call(self->r.fd, UNIFIED_IO_NET_UNBIND, 1, 0, 0, 0, 0, 0, 0, msg);
	expect_fail(ret, msg, EINVAL, "UNBIND flags");
	ret = bind_call(self->r.fd, UNIFIED_IO_NET_UNBIND, 0, ifi, 0, 0, 0, 0, 0, msg);
	expect_fail(ret, msg, EINVAL, "UNBIND ifindex");
	ret = bind_call(self->r.fd, UNIFIED_IO_NET_UNBIND, 0, 0, 1, 0, 0, 0, 0, msg);
	expect_fail(ret, msg, EINVAL, "UNBIND rxq");
	ret = bind_call(self->r.fd, UNIFIED_IO_NET_UNBIND, 0, 0, 0, 8, 0, 0, 0, msg);
	expect_fail(ret, msg, EINVAL, "UNBIND nr_bufs");
	ret = bind_call(self->r.fd, UNIFIED_IO_NET_UNBIND, 0, 0, 0, 0, 1, 0, 0, msg);
	expect_fail(ret, msg, EINVAL, "UNBIND resv");
	ret = bind_call(self->r.fd, UNIFIED_IO_NET_UNBIND, 0, 0, 0, 0, 0, 0, 1, msg);
	expect_fail(ret, msg, EINVAL, "UNBIND resv2");
	expect_untouched(&self->r, "after UNBIND");
}

TEST_F(bind, unbind_unbound)
{
	char msg[64];
	int ret = bind_call(self->r.fd, UNIFIED_IO_NET_UNBIND, 0, 0, 0, 0, 0,
			    0, 0, msg);

	expect_fail(ret, msg, ENOENT, "UNBIND of a region never bound");
	expect_untouched(&self->r, "UNBIND");
}

TEST_F(bind, no_provider)
{
	if (self->provider)
		SKIP(return, "kernel with UNIFIED_IO_FEAT_NET_PROVIDER");
	expect_bind_fail(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, 8,
			 EOPNOTSUPP, "BIND without provider support");
	/* Also for arguments that would fail anyway. */
	expect_bind_fail(&self->r, 0, 0, 0, EOPNOTSUPP, "BIND of nothing");
}

TEST_F(bind, bind_ok)
{
	struct unified_io_info info;
	__u32 lent = 24, app = 0;

	NEED_PROVIDER();
	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, lent);
	nt_info(&self->r, &info);
	EXPECT_EQ((__u32)UNIFIED_IO_NET_BOUND, info.net.state);
	EXPECT_EQ((__u32)self->p.rx_ifindex, info.net.ifindex);
	EXPECT_EQ((__u32)NT_ZC_QUEUE, info.net.rxq);
	EXPECT_EQ(lent, info.net.nr_bufs);
	EXPECT_EQ(0U, info.net.bufs_app);
	EXPECT_EQ(lent, info.net.bufs_nic);
	EXPECT_EQ(NBUFS - lent, info.stats.bufs_free);
	EXPECT_EQ(lent, info.stats.bufs_kernel);
	EXPECT_EQ(0U, info.stats.bufs_app);
	for (__u32 i = 0; i < NBUFS; i++) {
		if (self->r.bt[i].state == UNIFIED_IO_BUF_KERNEL)
			app++;
		else
			EXPECT_EQ(UNIFIED_IO_BUF_FREE, self->r.bt[i].state);
	}
	EXPECT_EQ(lent, app) TH_LOG("buffer table entries in state KERNEL");

	/* ALLOC hands out the other buffers only, then ENOBUFS. */
	for (__u32 i = 0; i < NBUFS - lent; i++) {
		struct unified_io_desc d = {};
		struct unified_io_cqe *c;

		unio_prep_alloc(&d, 0x22, i);
		ASSERT_EQ(1, nl_submit_inline(&self->r, &d));
		c = unio_peek_cqe(&self->r.q);
		ASSERT_EQ(BUF, c->res) TH_LOG("ALLOC %u", i);
		EXPECT_EQ(UNIFIED_IO_BUF_APP, self->r.bt[c->addr / BUF].state);
		unio_cqe_seen(&self->r.q);
	}
	{
		struct unified_io_desc d = {};
		struct unified_io_cqe *c;

		unio_prep_alloc(&d, 0x22, 99);
		ASSERT_EQ(1, nl_submit_inline(&self->r, &d));
		c = unio_peek_cqe(&self->r.q);
		EXPECT_EQ(-ENOBUFS, c->res) TH_LOG("ALLOC of a lent buffer");
		unio_cqe_seen(&self->r.q);
	}
	nt_info(&self->r, &info);
	EXPECT_EQ(lent, info.net.bufs_nic);
	EXPECT_EQ(0U, info.stats.bufs_free);
}

TEST_F(bind, unknown_ifindex)
{
	NEED_PROVIDER();
	expect_bind_fail(&self->r, 0, 0, 8, ENODEV, "ifindex 0");
	expect_bind_fail(&self->r, 0x7ffffff0, 0, 8, ENODEV, "unused ifindex");
	/* The peer lives in the tx namespace only. */
	if (self->p.tx_ifindex > 0) {
		char name[IF_NAMESIZE];

		ASSERT_EQ(NULL, if_indextoname(self->p.tx_ifindex, name))
			TH_LOG("index %d is %s here too", self->p.tx_ifindex, name);
		expect_bind_fail(&self->r, self->p.tx_ifindex, 0, 8, ENODEV,
				 "ifindex of another namespace");
	}
	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, 8);
}

TEST_F(bind, no_queue_mgmt)
{
	char err[256];
	int veth;

	NEED_PROVIDER();
	ASSERT_EQ(0, nl_veth_add("vb0", "vb1", err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, nl_sh(-1, err, sizeof(err), "ip link set vb0 up && ip link set vb1 up"))
		TH_LOG("%s", err);
	veth = if_nametoindex("vb0");
	ASSERT_LT(0, veth);
	expect_bind_fail(&self->r, veth, 0, 8, EOPNOTSUPP, "veth");
	expect_bind_fail(&self->r, if_nametoindex("lo"), 0, 8, EOPNOTSUPP, "lo");
	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, 8);
}

TEST_F(bind, rxq_range)
{
	NEED_PROVIDER();
	ASSERT_LE(2U, self->p.nr_rxq) TH_LOG("the test NIC has %u queues", self->p.nr_rxq);
	expect_bind_fail(&self->r, self->p.rx_ifindex, self->p.nr_rxq, 8, ERANGE,
			 "rxq == queue count");
	expect_bind_fail(&self->r, self->p.rx_ifindex, 1000, 8, ERANGE, "rxq 1000");
	expect_bind_fail(&self->r, self->p.rx_ifindex, ~0U, 8, ERANGE, "rxq ~0");
	nt_bind(&self->r, self->p.rx_ifindex, self->p.nr_rxq - 1, 8);
}

TEST_F(bind, queue_taken)
{
	struct nl_region b = { .fd = -1 };
	struct unified_io_info info;

	NEED_PROVIDER();
	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, 8);
	if (!nt_region_create(&b, SQ, CQ, BUF, NBUFS))
		return;
	expect_bind_fail(&b, self->p.rx_ifindex, NT_ZC_QUEUE, 8, EEXIST,
			 "queue provided by another region");
	nt_bind(&b, self->p.rx_ifindex, NT_ZC_QUEUE + 1, 8);
	nt_info(&b, &info);
	EXPECT_EQ((__u32)(NT_ZC_QUEUE + 1), info.net.rxq);
	nt_info(&self->r, &info);
	EXPECT_EQ((__u32)UNIFIED_IO_NET_BOUND, info.net.state);
	EXPECT_EQ((__u32)NT_ZC_QUEUE, info.net.rxq);

	/* Once the first region lets go, the queue is free again. */
	nl_region_destroy(&self->r);
	nl_region_destroy(&b);
	ASSERT_EQ(0, nl_region_create(&b, SQ, CQ, BUF, NBUFS));
	nt_bind(&b, self->p.rx_ifindex, NT_ZC_QUEUE, 8);
	nl_region_destroy(&b);
}

TEST_F(bind, hds_off)
{
	NEED_PROVIDER();
	ASSERT_EQ(0, nl_set_hds(&self->p, false)) TH_LOG("%s", self->p.err);
	expect_bind_fail(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, 8, EINVAL,
			 "tcp-data-split off");
	ASSERT_EQ(0, nl_set_hds(&self->p, true)) TH_LOG("%s", self->p.err);
	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, 8);
}

TEST_F(bind, buf_size)
{
	struct nl_region big = { .fd = -1 };

	NEED_PROVIDER();
	if (!nt_region_create(&big, SQ, CQ, 2 * BUF, 16))
		return;
	expect_bind_fail(&big, self->p.rx_ifindex, NT_ZC_QUEUE, 8, EINVAL,
			 "8 KiB buffers");
	nl_region_destroy(&big);
}

TEST_F(bind, nr_bufs)
{
	struct unified_io_desc d = {};
	struct unified_io_cqe *c;
	char msg[64];
	int ret;

	NEED_PROVIDER();
	expect_bind_fail(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, 0, EINVAL,
			 "nr_bufs 0");
	expect_bind_fail(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, NBUFS + 1,
			 ENOBUFS, "nr_bufs above the region's buffers");
	expect_bind_fail(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, ~0U,
			 ENOBUFS, "nr_bufs ~0");

	unio_prep_alloc(&d, 0x33, 1);
	ASSERT_EQ(1, nl_submit_inline(&self->r, &d));
	c = unio_peek_cqe(&self->r.q);
	ASSERT_EQ(BUF, c->res);
	unio_cqe_seen(&self->r.q);
	ret = bind_call(self->r.fd, UNIFIED_IO_NET_BIND, 0, self->p.rx_ifindex,
			NT_ZC_QUEUE, NBUFS, 0, 0, 0, msg);
	expect_fail(ret, msg, ENOBUFS, "nr_bufs above the free buffers");
	__expect_untouched(_metadata, &self->r, NBUFS - 1, "after ENOBUFS");

	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, NBUFS - 1);
}

TEST_F(bind, twice)
{
	struct unified_io_info info;
	char msg[64];
	int ret;

	NEED_PROVIDER();
	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, 8);
	ret = bind_call(self->r.fd, UNIFIED_IO_NET_BIND, 0, self->p.rx_ifindex,
			NT_ZC_QUEUE + 1, 8, 0, 0, 0, msg);
	expect_fail(ret, msg, EBUSY, "second BIND");
	nt_info(&self->r, &info);
	EXPECT_EQ((__u32)UNIFIED_IO_NET_BOUND, info.net.state);
	EXPECT_EQ(8U, info.net.nr_bufs);
	EXPECT_EQ(NBUFS - 8U, info.stats.bufs_free);

	ret = nl_unbind(&self->r, msg);
	ASSERT_EQ(0, ret) TH_LOG("UNBIND: %s (%.64s)", strerror(-ret), msg);
	EXPECT_EQ(0, msg[0]) TH_LOG("UNBIND message on success: %.64s", msg);
	nt_info(&self->r, &info);
	EXPECT_EQ((__u32)UNIFIED_IO_NET_UNBOUND, info.net.state);

	/* Nothing was received: every buffer is home, BIND works again. */
	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE + 1, 16);
	nt_info(&self->r, &info);
	EXPECT_EQ((__u32)UNIFIED_IO_NET_BOUND, info.net.state);
	EXPECT_EQ(16U, info.net.nr_bufs);
	EXPECT_EQ((__u32)NT_ZC_QUEUE + 1, info.net.rxq);
	EXPECT_EQ(NBUFS - 16U, info.stats.bufs_free);

	ret = nl_unbind(&self->r, msg);
	ASSERT_EQ(0, ret) TH_LOG("UNBIND: %s (%.64s)", strerror(-ret), msg);
	ret = bind_call(self->r.fd, UNIFIED_IO_NET_UNBIND, 0, 0, 0, 0, 0, 0, 0, msg);
	expect_fail(ret, msg, ENOENT, "second UNBIND");
}

/* What a forked binder reports, in memory shared with the test. */
struct binder {
	int ret;		/* of its BIND */
	char msg[64];
	int stage;		/* how far it got */
};

/*
 * Fork a binder: *@shp becomes a zeroed struct binder shared with it, and
 * in the child @r is a region set up with every capability (the child
 * exits 1 if it could not be).  Returns what fork() did, or -1 if the
 * shared page could not be mapped.
 */
static pid_t binder_fork(struct binder **shp, struct nl_region *r)
{
	struct binder *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	if (sh == MAP_FAILED)
		return -1;
	pid = fork();
	if (pid < 0) {
		int err = errno;

		munmap(sh, sizeof(*sh));
		errno = err;
		return -1;
	}
	*shp = sh;
	if (pid == 0 && nl_region_create(r, SQ, CQ, BUF, NBUFS))
		_exit(1);
	return pid;
}

TEST_F(bind, no_cap)
{
	struct binder *sh = NULL;
	struct nl_region r;	/* the child's */
	int status;
	pid_t pid;

	NEED_PROVIDER();
	/* The device is opened and set up with every capability. */
	pid = binder_fork(&sh, &r);
	ASSERT_LE(0, pid) TH_LOG("binder_fork: %s", strerror(errno));
	if (pid == 0) {
		sh->stage = 1;
		if (ut_drop_cap(CAP_NET_ADMIN) || ut_has_cap(CAP_NET_ADMIN))
			_exit(2);
		sh->stage = 2;
		sh->ret = bind_call(r.fd, UNIFIED_IO_NET_BIND, 0, self->p.rx_ifindex,
				    NT_ZC_QUEUE, 8, 0, 0, 0, sh->msg);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("child stage %d", sh->stage);
	expect_fail(sh->ret, sh->msg, EPERM, "BIND without CAP_NET_ADMIN");
	/* The queue was not touched: this region binds it. */
	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, 8);
	munmap(sh, sizeof(*sh));
}

TEST_F_TIMEOUT(bind, netlink_identity, 300)
{
	const char *kd = nl_kmod_dir();
	struct unified_io_info info;
	char cmd[1024], out[512], want[128];

	NEED_PROVIDER();
	if (!kd)
		SKIP(return, "neither UNIFIED_IO_KMOD_DIR nor UNIFIED_IO_REPO is set");
	snprintf(cmd, sizeof(cmd), "%s/ynl/pyynl/cli.py", kd);
	if (access(cmd, R_OK))
		SKIP(return, "no ynl next to the modules (%.200s)", kd);
	nt_bind(&self->r, self->p.rx_ifindex, NT_ZC_QUEUE, 8);
	nt_info(&self->r, &info);
	ASSERT_NE(0U, info.net.id);

	/* What a user runs, reduced to: <queues with a provider> <queue> <name> <id>. */
	snprintf(cmd, sizeof(cmd),
		 "y='python3 %s/ynl/pyynl/cli.py --spec %s/ynl/netdev.yaml --no-schema --output-json'; "
		 "$y --dump queue-get --json '{\"ifindex\": %d}' | python3 -c '"
		 "import json, sys\n"
		 "q = [x for x in json.load(sys.stdin) if \"module-provider\" in x]\n"
		 "print(len(q), *[(x[\"id\"], x[\"module-provider\"][\"name\"], x[\"module-provider\"][\"id\"]) for x in q][0])' && "
		 "$y --dump page-pool-get | python3 -c '"
		 "import json, sys\n"
		 "p = [x for x in json.load(sys.stdin) if x.get(\"ifindex\") == %d and \"module-provider\" in x]\n"
		 "print(\"pools\", len(p), set(x[\"module-provider\"][\"id\"] for x in p))'",
		 kd, kd, self->p.rx_ifindex, self->p.rx_ifindex);
	ASSERT_EQ(0, nl_sh(-1, out, sizeof(out), "%s", cmd)) TH_LOG("%s", out);
	TH_LOG("%s", out);
	snprintf(want, sizeof(want), "1 %d unified_io %u\npools 1 {%u}",
		 NT_ZC_QUEUE, info.net.id, info.net.id);
	EXPECT_EQ(0, strncmp(out, want, strlen(want))) TH_LOG("want \"%s\"", want);
}

TEST_F(bind, userns_root)
{
	char path[64], out[256];
	struct binder *sh = NULL; /* stage 1: unshared; 2: mapped and moved in */
	struct nl_region r;	/* the child's */
	int status, fd;
	pid_t pid;

	NEED_PROVIDER();
	/* The region is made outside; the binder is userns root. */
	pid = binder_fork(&sh, &r);
	ASSERT_LE(0, pid) TH_LOG("binder_fork: %s", strerror(errno));
	if (pid == 0) {
		int ifindex;

		if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
			_exit(2);
		sh->stage = 1;
		for (int i = 0; i < 1000 && sh->stage != 2; i++)
			usleep(10000);
		if (sh->stage != 2)
			_exit(3);
		ifindex = if_nametoindex(self->p.rx_if);
		if (!ifindex)
			_exit(4);
		sh->ret = bind_call(r.fd, UNIFIED_IO_NET_BIND, 0, ifindex,
				    NT_ZC_QUEUE, 8, 0, 0, 0, sh->msg);
		_exit(0);
	}
	for (int i = 0; i < 1000 && sh->stage != 1; i++)
		usleep(10000);
	ASSERT_EQ(1, sh->stage);
	/* Root of its user namespace, which owns its network namespace. */
	snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
	fd = open(path, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(4, write(fd, "deny", 4));
	close(fd);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/proc/%d/%s", pid,
			 i ? "gid_map" : "uid_map");
		fd = open(path, O_WRONLY);
		ASSERT_LE(0, fd);
		ASSERT_EQ(6, write(fd, "0 0 1\n", 6));
		close(fd);
	}
	/* The interface goes into its namespace, as a VF or a lease would. */
	ASSERT_EQ(0, nl_sh(-1, out, sizeof(out), "ip link set dev %s netns %d",
			   self->p.rx_if, pid)) TH_LOG("%s", out);
	sh->stage = 2;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("child failed at step %d",
						 WEXITSTATUS(status));
	expect_fail(sh->ret, sh->msg, EPERM,
		    "BIND by root of a user namespace owning the interface");
	munmap(sh, sizeof(*sh));
}

TEST_HARNESS_MAIN
