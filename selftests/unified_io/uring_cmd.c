// SPDX-License-Identifier: GPL-2.0
/*
 * The region's operations as io_uring commands (struct unified_io_uring_cmd,
 * UNIFIED_IO_FEAT_URING_CMD), driven with liburing as an application would:
 * IORING_OP_URING_CMD on the region fd of a ring with 128-byte SQEs and
 * 32-byte CQEs.
 *
 *  uabi.*	every errno the uapi header lists for the command itself
 *		(ENOTTY, EINVAL for the ring, resv, FIXED and MULTISHOT,
 *		EBADFD, EOPNOTSUPP) and every descriptor errno of NOP, ALLOC,
 *		FREE, BPF and CANCEL, the same as through the SQ; the region
 *		unchanged after each (buffer table, counters but the opcode's,
 *		nothing on the module's CQ); rings with mixed SQE and CQE
 *		sizes (IORING_OP_URING_CMD128, IORING_CQE_F_32)
 *  uc.*	ALLOC, FREE and reuse, res2's address and flags, BPF with a
 *		program (XDP_DROP's flag and the program's index in res2);
 *		issue from io-wq (IOSQE_ASYNC) and under contention for the
 *		region's lock (SUBMITs in another thread); chains with
 *		IOSQE_IO_LINK: ALLOC -> BPF -> FREE in one submit, a failing
 *		middle link (the links after it ECANCELED, none of them ran)
 *  unvme.*	BPF -> NVMe WRITE passthrough of that buffer (/dev/ng0nN,
 *		the data area a fixed buffer) -> NVMe READ back, one chain;
 *		the same with the BPF failing: neither NVMe command ran
 *  usend.*	SEND over a loopback TCP pair: one completion, with
 *		UNIFIED_IO_CQE_F_NOTIF, only once the stack let go of the
 *		bytes (a peer that does not read holds it back; FREE and BPF
 *		are EBUSY meanwhile), the bytes intact at the peer; a SEND
 *		that queues nothing completes at once
 *  uexit.*	children that exit with commands and SENDs in flight,
 *		without reaping: the buffers come back, the module's
 *		reference count too; a SEND on a shared ring outlives its
 *		task's exit (completes once the peer read), and is cancelled
 *		(ECANCELED) by its task's execve()
 *  urecv.*	the armed RECV as a multishot command, records one per
 *		provided buffer on a ring whose CQ a run overflows: a re-arm,
 *		a CANCEL and a RECV in one submit keep the stream in order;
 *		parked records go to a RECV of their owner only, with its
 *		user_data; CANCEL gives their buffers back; with no
 *		provided buffer a FIN still ends it with 0 (EPROTO at urgent
 *		data), and bytes waiting with ENOBUFS
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <liburing.h>
#include <linux/nvme_ioctl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "ut.h"
#include "ut_xdp.skel.h"

/* liburing 2.15's own copy of the uapi header does not have it yet. */
#ifndef IORING_URING_CMD_MULTISHOT
#define IORING_URING_CMD_MULTISHOT	(1U << 1)
#endif

#define OWNER		0x75
#define OTHER		0x76
#define BUF_SIZE	4096U
#define NR_BUFS		16U
#define RING_FLAGS	(IORING_SETUP_SQE128 | IORING_SETUP_CQE32)
#define WAIT_MS		10000
#define UD(n)		(0x75c0000000000000ULL | (__u64)(n))

#define F_NOTIF		((__u32)UNIFIED_IO_CQE_F_NOTIF)
#define F_COPIED	((__u32)UNIFIED_IO_CQE_F_COPIED)
#define F_BPF_DROP	((__u32)UNIFIED_IO_CQE_F_BPF_DROP)
#define F_BUFFER	((__u32)UNIFIED_IO_CQE_F_BUFFER)

/* --- io_uring ------------------------------------------------------------- */

/* One completion of the application's ring. */
struct ucqe {
	__u64 user_data;
	int res;
	__u32 flags;
	__u64 res2;		/* big_cqe[0], on a CQE32 ring */
};

static int ring_init(struct io_uring *ring, unsigned int flags)
{
	return io_uring_queue_init(16, ring, flags);
}

/* A cleared SQE of @ring: 128 bytes on an SQE128 ring. */
static struct io_uring_sqe *get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (sqe)
		memset(sqe, 0, ring->flags & IORING_SETUP_SQE128 ?
			       2 * sizeof(*sqe) : sizeof(*sqe));
	return sqe;
}

/*
 * IORING_OP_URING_CMD of @cmd_op on @fd carrying @c, as much of it as the
 * SQE holds (16 bytes of a 64-byte SQE).
 */
static struct io_uring_sqe *prep_cmd_raw(struct io_uring *ring, int fd,
					 __u32 cmd_op,
					 const struct unified_io_uring_cmd *c,
					 __u64 ud)
{
	struct io_uring_sqe *sqe = get_sqe(ring);

	if (!sqe)
		return NULL;
	io_uring_prep_uring_cmd(sqe, cmd_op, fd);
	memcpy(sqe->cmd, c, ring->flags & IORING_SETUP_SQE128 ?
	       sizeof(*c) : sizeof(sqe->addr3) + sizeof(sqe->__pad2));
	sqe->user_data = ud;
	return sqe;
}

static struct io_uring_sqe *prep_desc(struct io_uring *ring, int fd,
				      const struct unified_io_desc *d,
				      __u64 ud)
{
	struct unified_io_uring_cmd c = { .desc = *d };

	return prep_cmd_raw(ring, fd, UNIFIED_IO_URING_CMD_DESC, &c, ud);
}

/* Wait up to @ms for one completion; -ETIME if none. */
static int reap(struct io_uring *ring, struct ucqe *out, int ms)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000LL,
	};
	struct io_uring_cqe *cqe;
	int ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);

	if (ret)
		return ret;
	out->user_data = cqe->user_data;
	out->res = cqe->res;
	out->flags = cqe->flags;
	out->res2 = ring->flags & IORING_SETUP_CQE32 ||
		    cqe->flags & IORING_CQE_F_32 ? cqe->big_cqe[0] : 0;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

/* Submit what is prepared, and reap exactly @n completions in *out. */
static int __submit_reap(struct __test_metadata *_metadata,
			 struct io_uring *ring, struct ucqe *out, unsigned int n)
{
	int ret = io_uring_submit(ring);

	EXPECT_EQ((int)n, ret) TH_LOG("io_uring_submit: %s",
				      strerror(ret < 0 ? -ret : 0));
	for (unsigned int i = 0; i < n; i++) {
		ret = reap(ring, &out[i], WAIT_MS);
		EXPECT_EQ(0, ret) TH_LOG("completion %u of %u: %s", i, n,
					 strerror(-ret));
		if (ret)
			return ret;
	}
	return 0;
}

#define submit_reap(ring, out, n)	__submit_reap(_metadata, ring, out, n)

/* One descriptor as a command; returns its CQE's res, *out the rest. */
static int __ucmd(struct __test_metadata *_metadata, struct io_uring *ring,
		  int fd, const struct unified_io_desc *d, struct ucqe *out)
{
	struct ucqe c = { .res = -12345 };
	__u64 ud = d->user_data ^ 0xffffULL;

	if (!prep_desc(ring, fd, d, ud))
		return -12345;
	if (submit_reap(ring, &c, 1))
		return -12345;
	/* The SQE's user_data, not the descriptor's. */
	EXPECT_EQ(ud, c.user_data);
	if (out)
		*out = c;
	return c.res;
}

#define ucmd(ring, fd, d, out)	__ucmd(_metadata, ring, fd, d, out)

/* --- the region's state ----------------------------------------------------- */

/* What a refused command must leave as it was. */
struct snap {
	struct unified_io_info info;
	struct unified_io_buf_entry bt[NR_BUFS];
	__u32 cq_tail;
};

static void __snap_take(struct __test_metadata *_metadata, struct ut_region *r,
			struct snap *s)
{
	ASSERT_EQ(0, ut_region_info(r, &s->info));
	ASSERT_GE(NR_BUFS, r->l.nr_bufs);
	memcpy(s->bt, r->bt, r->l.nr_bufs * sizeof(s->bt[0]));
	s->cq_tail = unio_smp_load_acquire(r->q.cq.ktail);
}

#define snap_take(r, s)	__snap_take(_metadata, r, s)

/*
 * The region is as in @was, but for @ops more runs of opcode @op in the
 * counters (@ops 0: nothing ran).
 */
static void __snap_same(struct __test_metadata *_metadata, struct ut_region *r,
			const struct snap *was, __u8 op, unsigned int ops)
{
	struct snap now;
	struct unified_io_stats want = was->info.stats;

	__snap_take(_metadata, r, &now);
	if (op < UT_ARRAY_SIZE(want.ops))
		want.ops[op] += ops;
	ut_check_stats(&want, &now.info.stats);
	for (__u32 i = 0; i < r->l.nr_bufs; i++) {
		EXPECT_EQ(was->bt[i].owner, now.bt[i].owner) TH_LOG("buffer %u", i);
		EXPECT_EQ(was->bt[i].state, now.bt[i].state) TH_LOG("buffer %u", i);
		EXPECT_EQ(was->bt[i].refs, now.bt[i].refs) TH_LOG("buffer %u", i);
	}
	/* Nothing reaches the module's CQ. */
	EXPECT_EQ(was->cq_tail, now.cq_tail);
	EXPECT_EQ(0U, unio_cq_ready(&r->q));
	EXPECT_EQ(was->info.send.notifs, now.info.send.notifs);
	EXPECT_EQ(was->info.send.inflight, now.info.send.inflight);
}

#define snap_same(r, was, op, ops)	__snap_same(_metadata, r, was, op, ops)

static __u32 bidx(const struct ut_region *r, __u64 addr)
{
	return addr / r->l.buf_size;
}

/* The first free buffer's offset, by the buffer table. */
static __u64 free_buf(const struct ut_region *r)
{
	for (__u32 i = 0; i < r->l.nr_bufs; i++)
		if (r->bt[i].state == UNIFIED_IO_BUF_FREE)
			return (__u64)i * r->l.buf_size;
	return ~0ULL;
}

static __u8 *bufp(struct ut_region *r, __u64 addr)
{
	return r->map + r->l.data_off + addr;
}

static __u32 features(int fd)
{
	struct unified_io_info info;

	return ut_get_info(fd, &info) ? 0 : info.config.features;
}

/* --- BPF ------------------------------------------------------------------- */

static int attach(int fd, int prog_fd)
{
	struct unified_io_bpf p = {
		.size = sizeof(p),
		.prog_fd = prog_fd,
	};

	return ut_ioctl(fd, UNIFIED_IO_ATTACH_BPF, &p);
}

/* ut_xdp.bpf.o with ut_inc and ut_drop only; NULL when it does not load. */
static struct ut_xdp_bpf *xdp_load(int *err)
{
	struct ut_xdp_bpf *skel = ut_xdp_bpf__open();
	struct bpf_program *prog;

	*err = -errno;
	if (!skel)
		return NULL;
	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);

		bpf_program__set_autoload(prog, !strcmp(name, "ut_inc") ||
					  !strcmp(name, "ut_drop"));
	}
	*err = ut_xdp_bpf__load(skel);
	if (*err) {
		ut_xdp_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/* --- the fixture ------------------------------------------------------------ */

FIXTURE(uc) {
	struct ut_region r;
	struct io_uring ring;
	bool ring_ok;
	struct ut_xdp_bpf *skel;
};

/*
 * The fixtures' common part: a region of NR_BUFS buffers and a ring with
 * 128-byte SQEs and 32-byte CQEs.  SKIP without the feature or io_uring.
 */
static bool __uc_setup(struct __test_metadata *_metadata, struct ut_region *r,
		       struct io_uring *ring, bool *ring_ok)
{
	int ret;

	r->fd = -1;
	if (!ut_region_create(r, 8, 16, BUF_SIZE, (__u64)NR_BUFS * BUF_SIZE, 0))
		return false;
	if (!(features(r->fd) & UNIFIED_IO_FEAT_URING_CMD))
		SKIP(return false, "no UNIFIED_IO_FEAT_URING_CMD");
	ret = ring_init(ring, RING_FLAGS);
	if (ret == -EPERM || ret == -ENOSYS)
		SKIP(return false, "io_uring unavailable: %s", strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("io_uring_queue_init: %s", strerror(-ret));
	*ring_ok = true;
	return true;
}

#define common_setup()	__uc_setup(_metadata, &self->r, &self->ring, &self->ring_ok)

FIXTURE_SETUP(uc)
{
	common_setup();
}

FIXTURE_TEARDOWN(uc)
{
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	if (self->skel)
		ut_xdp_bpf__destroy(self->skel);
	ut_region_destroy(&self->r);
}

/* Load the programs and attach ut_inc; SKIP without BPF. */
static bool __uc_bpf(struct __test_metadata *_metadata, struct ut_region *r,
		     struct ut_xdp_bpf **skel)
{
	int err;

	if (!(features(r->fd) & UNIFIED_IO_FEAT_BPF))
		SKIP(return false, "no UNIFIED_IO_FEAT_BPF");
	if (!ut_has_cap(CAP_SYS_ADMIN))
		SKIP(return false, "needs CAP_SYS_ADMIN");
	/* The skeleton's CO-RE relocations need the kernel's BTF. */
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		SKIP(return false, "kernel without BTF (the debug kernel has no debug info)");
	*skel = xdp_load(&err);
	ASSERT_NE(NULL, *skel) TH_LOG("ut_xdp.bpf.o: %s", strerror(-err));
	ASSERT_EQ(0, attach(r->fd, bpf_program__fd((*skel)->progs.ut_inc)));
	return true;
}

#define common_bpf()	__uc_bpf(_metadata, &self->r, &self->skel)

/* ALLOC through the SQ, for a test's setup. */
static __u64 __sq_alloc(struct __test_metadata *_metadata, struct ut_region *r,
			__u16 owner)
{
	__u64 off = ~0ULL;

	EXPECT_EQ((int)r->l.buf_size, ut_alloc(r, owner, &off));
	return off;
}

#define sq_alloc(owner)	__sq_alloc(_metadata, &self->r, owner)

/* --- uabi: the command's own errors ---------------------------------------- */

FIXTURE(uabi) {
	struct ut_region r;
	struct io_uring ring;
	bool ring_ok;
	struct ut_xdp_bpf *skel;
};

FIXTURE_SETUP(uabi)
{
	common_setup();
}

FIXTURE_TEARDOWN(uabi)
{
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	if (self->skel)
		ut_xdp_bpf__destroy(self->skel);
	ut_region_destroy(&self->r);
}

/* A NOP works: what each refusal below changes makes it fail. */
static void __nop_works(struct __test_metadata *_metadata, struct ut_region *r,
			struct io_uring *ring)
{
	struct unified_io_desc d = {};
	struct ucqe c;
	struct snap s;

	snap_take(r, &s);
	unio_prep_nop(&d, UD(1));
	EXPECT_EQ(0, ucmd(ring, r->fd, &d, &c));
	EXPECT_EQ(0ULL, c.res2);
	snap_same(r, &s, UNIFIED_IO_OP_NOP, 1);
}

#define nop_works(r, ring)	__nop_works(_metadata, r, ring)

TEST_F(uabi, cmd_op_unknown_enotty)
{
	const __u32 ops[] = {
		0, UNIFIED_IO_URING_CMD_DESC + 1, UNIFIED_IO_URING_CMD_DESC - 1,
		/* Same number, other size or direction. */
		_IOWR(UNIFIED_IO_TYPE, 0xc0, struct unified_io_desc),
		_IOW(UNIFIED_IO_TYPE, 0xc0, struct unified_io_uring_cmd),
		UNIFIED_IO_SUBMIT, ~0U,
	};
	struct unified_io_uring_cmd c = {};
	struct ucqe cqe;
	struct snap s;

	unio_prep_nop(&c.desc, UD(2));
	for (unsigned int i = 0; i < UT_ARRAY_SIZE(ops); i++) {
		snap_take(&self->r, &s);
		ASSERT_NE(NULL, prep_cmd_raw(&self->ring, self->r.fd, ops[i], &c,
					     UD(i)));
		ASSERT_EQ(0, submit_reap(&self->ring, &cqe, 1));
		EXPECT_EQ(-ENOTTY, cqe.res) TH_LOG("cmd_op %#x", ops[i]);
		EXPECT_EQ(0ULL, cqe.res2);
		snap_same(&self->r, &s, 0, 0);
	}
	nop_works(&self->r, &self->ring);
}

/* A ring of @flags refuses the command with EINVAL, and runs nothing. */
static void __ring_refused(struct __test_metadata *_metadata,
			   struct ut_region *r, unsigned int flags)
{
	struct unified_io_desc d = {};
	struct io_uring ring;
	struct ucqe c;
	struct snap s;

	ASSERT_EQ(0, ring_init(&ring, flags));
	snap_take(r, &s);
	unio_prep_alloc(&d, OWNER, UD(3));
	EXPECT_EQ(-EINVAL, ucmd(&ring, r->fd, &d, &c));
	unio_prep_nop(&d, UD(4));
	EXPECT_EQ(-EINVAL, ucmd(&ring, r->fd, &d, &c));
	snap_same(r, &s, 0, 0);
	io_uring_queue_exit(&ring);
}

TEST_F(uabi, ring_without_sqe128_einval)
{
	__ring_refused(_metadata, &self->r, IORING_SETUP_CQE32);
	__ring_refused(_metadata, &self->r, 0);
	nop_works(&self->r, &self->ring);
}

TEST_F(uabi, ring_without_cqe32_einval)
{
	__ring_refused(_metadata, &self->r, IORING_SETUP_SQE128);
	nop_works(&self->r, &self->ring);
}

TEST_F(uabi, resv_each_byte_einval)
{
	struct unified_io_uring_cmd c = {};
	struct ucqe cqe;
	struct snap s;

	for (unsigned int i = 0; i < sizeof(c.resv); i++) {
		memset(&c, 0, sizeof(c));
		unio_prep_alloc(&c.desc, OWNER, UD(5));
		((__u8 *)c.resv)[i] = 1 << (i % 8);
		snap_take(&self->r, &s);
		ASSERT_NE(NULL, prep_cmd_raw(&self->ring, self->r.fd,
					     UNIFIED_IO_URING_CMD_DESC, &c, UD(i)));
		ASSERT_EQ(0, submit_reap(&self->ring, &cqe, 1));
		EXPECT_EQ(-EINVAL, cqe.res) TH_LOG("resv byte %u", i);
		snap_same(&self->r, &s, 0, 0);
	}
	nop_works(&self->r, &self->ring);
}

static int register_data(struct io_uring *ring, const struct ut_region *r)
{
	struct iovec iov = {
		.iov_base = r->map + r->l.data_off,
		.iov_len = r->l.data_size,
	};

	return io_uring_register_buffers(ring, &iov, 1);
}

TEST_F(uabi, fixed_einval)
{
	struct unified_io_desc d = {};
	struct io_uring_sqe *sqe;
	struct ucqe c;
	struct snap s;

	/* A registered buffer at index 0: io_uring itself has no objection. */
	ASSERT_EQ(0, register_data(&self->ring, &self->r));
	snap_take(&self->r, &s);
	unio_prep_alloc(&d, OWNER, UD(6));
	sqe = prep_desc(&self->ring, self->r.fd, &d, UD(6));
	ASSERT_NE(NULL, sqe);
	sqe->uring_cmd_flags = IORING_URING_CMD_FIXED;
	sqe->buf_index = 0;
	ASSERT_EQ(0, submit_reap(&self->ring, &c, 1));
	EXPECT_EQ(-EINVAL, c.res);
	snap_same(&self->r, &s, 0, 0);
	nop_works(&self->r, &self->ring);
}

#define BGID	7

/* A multishot command with a provided buffer (io_uring's prep accepts it). */
static int mshot_cmd(struct __test_metadata *_metadata, struct io_uring *ring,
		     int fd, const struct unified_io_desc *d, bool mshot)
{
	struct io_uring_sqe *sqe = prep_desc(ring, fd, d, d->user_data);
	struct ucqe c = { .res = -12345 };

	if (!sqe)
		return -12345;
	if (mshot) {
		sqe->uring_cmd_flags = IORING_URING_CMD_MULTISHOT;
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = BGID;
	}
	submit_reap(ring, &c, 1);
	return c.res;
}

TEST_F(uabi, multishot_rules_einval)
{
	struct io_uring_buf_ring *br;
	struct unified_io_desc d;
	static __u8 pbuf[4][4096];
	__u64 held = sq_alloc(OWNER);
	struct snap s;
	int ret;

	br = io_uring_setup_buf_ring(&self->ring, 4, BGID, 0, &ret);
	ASSERT_NE(NULL, br) TH_LOG("provided buffer ring: %s", strerror(-ret));
	for (int i = 0; i < 4; i++)
		io_uring_buf_ring_add(br, pbuf[i], sizeof(pbuf[i]), i,
				      io_uring_buf_ring_mask(4), i);
	io_uring_buf_ring_advance(br, 4);

	/* Every other opcode with IORING_URING_CMD_MULTISHOT. */
	for (__u8 op = UNIFIED_IO_OP_NOP; op < UNIFIED_IO_OP_LAST; op++) {
		if (op == UNIFIED_IO_OP_RECV)
			continue;
		memset(&d, 0, sizeof(d));
		d.opcode = op;
		d.user_data = UD(0x100 + op);
		if (op != UNIFIED_IO_OP_NOP)
			d.owner = OWNER;
		if (op == UNIFIED_IO_OP_FREE || op == UNIFIED_IO_OP_BPF ||
		    op == UNIFIED_IO_OP_SEND) {
			d.addr = held;
			d.len = op == UNIFIED_IO_OP_FREE ? 0 : 16;
		}
		if (op == UNIFIED_IO_OP_CANCEL) {
			d.owner = 0;
			d.net.fd = -1;
			d.net.flags = UNIFIED_IO_CANCEL_F_ALL;
		}
		snap_take(&self->r, &s);
		EXPECT_EQ(-EINVAL, mshot_cmd(_metadata, &self->ring, self->r.fd,
					     &d, true)) TH_LOG("opcode %u", op);
		snap_same(&self->r, &s, 0, 0);
	}

	/* RECV: armed and multishot, or EINVAL. */
	snap_take(&self->r, &s);
	unio_prep_recv(&d, 0, OWNER, 0, 0, UD(0x200));
	EXPECT_EQ(-EINVAL, mshot_cmd(_metadata, &self->ring, self->r.fd, &d, true));
	EXPECT_EQ(-EINVAL, mshot_cmd(_metadata, &self->ring, self->r.fd, &d, false));
	unio_prep_recv(&d, 0, OWNER, 0, UNIFIED_IO_RECV_F_ARM, UD(0x201));
	EXPECT_EQ(-EINVAL, mshot_cmd(_metadata, &self->ring, self->r.fd, &d, false));
	snap_same(&self->r, &s, 0, 0);
	/* Both: io_uring and the command's rules accept it (stdin is no socket). */
	EXPECT_NE(-EINVAL, mshot_cmd(_metadata, &self->ring, self->r.fd, &d, true));

	/* The FREE refused above as multishot works as a plain command. */
	memset(&d, 0, sizeof(d));
	unio_prep_free(&d, OWNER, held, UD(0x202));
	EXPECT_EQ(0, mshot_cmd(_metadata, &self->ring, self->r.fd, &d, false));
	EXPECT_EQ(UNIFIED_IO_BUF_FREE, self->r.bt[bidx(&self->r, held)].state);
	io_uring_free_buf_ring(&self->ring, br, 4, BGID);
}

TEST_F(uabi, opcode_unknown_eopnotsupp)
{
	const __u8 ops[] = { UNIFIED_IO_OP_LAST, 0x7f, UNIFIED_IO_OP_USER,
			     UNIFIED_IO_OP_NVME + 1, 0xff };
	struct unified_io_desc d;
	struct unified_io_cqe sq;
	struct snap s;

	for (unsigned int i = 0; i < UT_ARRAY_SIZE(ops); i++) {
		memset(&d, 0, sizeof(d));
		d.opcode = ops[i];
		d.user_data = UD(0x300 + i);
		/* The SQ says so too. */
		EXPECT_EQ(-EOPNOTSUPP, ut_do(&self->r, &d, &sq));
		snap_take(&self->r, &s);
		EXPECT_EQ(-EOPNOTSUPP, ucmd(&self->ring, self->r.fd, &d, NULL))
			TH_LOG("opcode %#x", ops[i]);
		snap_same(&self->r, &s, 0, 0);
	}
}

/* One case of uabi.desc_errnos. */
struct dcase {
	const char *what;
	int err;
	struct unified_io_desc d;
};

/*
 * Each descriptor errno of NOP, ALLOC, FREE, BPF and CANCEL (and CANCEL
 * of every armed RECV when there is none, 0): through the SQ, then
 * as a command, the same errno and completion address, and nothing changed
 * but the opcode's counter.
 */
TEST_F(uabi, desc_errnos_as_sq)
{
	__u64 held, free_b, ds = self->r.l.data_size;
	__u32 bs = self->r.l.buf_size;
	struct dcase cs[48];
	unsigned int n = 0;
	struct snap s;
	int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ASSERT_LE(0, tcp);
	held = sq_alloc(OWNER);
	free_b = free_buf(&self->r);
	ASSERT_NE(~0ULL, free_b);

#define CASE(w, e, ...) do {						\
		cs[n] = (struct dcase){ .what = w, .err = e,		\
			.d = { .user_data = UD(0x400 + n), __VA_ARGS__ } }; \
		n++;							\
	} while (0)
	CASE("nop flags", -EINVAL, .opcode = UNIFIED_IO_OP_NOP, .flags = 1);
	CASE("nop owner", -EINVAL, .opcode = UNIFIED_IO_OP_NOP, .owner = 1);
	CASE("nop len", -EINVAL, .opcode = UNIFIED_IO_OP_NOP, .len = 1);
	CASE("nop addr", -EINVAL, .opcode = UNIFIED_IO_OP_NOP, .addr = bs);
	CASE("nop pad", -EINVAL, .opcode = UNIFIED_IO_OP_NOP, .pad = { [4] = 1 });
	CASE("alloc flags", -EINVAL, .opcode = UNIFIED_IO_OP_ALLOC,
	     .owner = OWNER, .flags = 0x80);
	CASE("alloc owner 0", -EINVAL, .opcode = UNIFIED_IO_OP_ALLOC);
	CASE("alloc addr", -EINVAL, .opcode = UNIFIED_IO_OP_ALLOC,
	     .owner = OWNER, .addr = free_b ? free_b : bs);
	CASE("alloc len", -EINVAL, .opcode = UNIFIED_IO_OP_ALLOC,
	     .owner = OWNER, .len = bs + 1);
	CASE("alloc pad", -EINVAL, .opcode = UNIFIED_IO_OP_ALLOC,
	     .owner = OWNER, .pad = { [0] = 1 });
	CASE("free flags", -EINVAL, .opcode = UNIFIED_IO_OP_FREE,
	     .owner = OWNER, .addr = held, .flags = 1);
	CASE("free owner 0", -EINVAL, .opcode = UNIFIED_IO_OP_FREE, .addr = held);
	CASE("free len", -EINVAL, .opcode = UNIFIED_IO_OP_FREE,
	     .owner = OWNER, .addr = held, .len = 1);
	CASE("free pad", -EINVAL, .opcode = UNIFIED_IO_OP_FREE,
	     .owner = OWNER, .addr = held, .pad = { [2] = 1 });
	CASE("free beyond", -ERANGE, .opcode = UNIFIED_IO_OP_FREE,
	     .owner = OWNER, .addr = ds);
	CASE("free far beyond", -ERANGE, .opcode = UNIFIED_IO_OP_FREE,
	     .owner = OWNER, .addr = ~0ULL);
	CASE("free unaligned", -EINVAL, .opcode = UNIFIED_IO_OP_FREE,
	     .owner = OWNER, .addr = held + 1);
	CASE("free free", -EALREADY, .opcode = UNIFIED_IO_OP_FREE,
	     .owner = OWNER, .addr = free_b);
	CASE("free other owner", -EPERM, .opcode = UNIFIED_IO_OP_FREE,
	     .owner = OTHER, .addr = held);
	CASE("bpf flags", -EINVAL, .opcode = UNIFIED_IO_OP_BPF,
	     .owner = OWNER, .addr = held, .len = 8, .flags = 1);
	CASE("bpf owner 0", -EINVAL, .opcode = UNIFIED_IO_OP_BPF,
	     .addr = held, .len = 8);
	CASE("bpf pad", -EINVAL, .opcode = UNIFIED_IO_OP_BPF,
	     .owner = OWNER, .addr = held, .len = 8, .pad = { [1] = 1 });
	CASE("bpf beyond", -ERANGE, .opcode = UNIFIED_IO_OP_BPF,
	     .owner = OWNER, .addr = ds, .len = 8);
	CASE("bpf unaligned", -EINVAL, .opcode = UNIFIED_IO_OP_BPF,
	     .owner = OWNER, .addr = held + 8, .len = 8);
	CASE("bpf len 0", -EINVAL, .opcode = UNIFIED_IO_OP_BPF,
	     .owner = OWNER, .addr = held);
	CASE("bpf len over", -EINVAL, .opcode = UNIFIED_IO_OP_BPF,
	     .owner = OWNER, .addr = held, .len = bs + 1);
	CASE("bpf free buffer", -EPERM, .opcode = UNIFIED_IO_OP_BPF,
	     .owner = OWNER, .addr = free_b, .len = 8);
	CASE("bpf other owner", -EPERM, .opcode = UNIFIED_IO_OP_BPF,
	     .owner = OTHER, .addr = held, .len = 8);
	CASE("bpf no program", -ENOENT, .opcode = UNIFIED_IO_OP_BPF,
	     .owner = OWNER, .addr = held, .len = 8);
	CASE("cancel flags", -EINVAL, .opcode = UNIFIED_IO_OP_CANCEL,
	     .flags = 1, .net.fd = tcp);
	CASE("cancel owner", -EINVAL, .opcode = UNIFIED_IO_OP_CANCEL,
	     .owner = OWNER, .net.fd = tcp);
	CASE("cancel len", -EINVAL, .opcode = UNIFIED_IO_OP_CANCEL,
	     .len = 1, .net.fd = tcp);
	CASE("cancel addr", -EINVAL, .opcode = UNIFIED_IO_OP_CANCEL,
	     .addr = bs, .net.fd = tcp);
	CASE("cancel net.flags", -EINVAL, .opcode = UNIFIED_IO_OP_CANCEL,
	     .net.fd = tcp, .net.flags = 2);
	CASE("cancel net.resv", -EINVAL, .opcode = UNIFIED_IO_OP_CANCEL,
	     .net.fd = tcp, .net.resv = { [3] = 1 });
	CASE("cancel all, fd", -EINVAL, .opcode = UNIFIED_IO_OP_CANCEL,
	     .net.fd = tcp, .net.flags = UNIFIED_IO_CANCEL_F_ALL);
	CASE("cancel fd not open", -EBADF, .opcode = UNIFIED_IO_OP_CANCEL,
	     .net.fd = 1000);
	CASE("cancel not a socket", -ENOTSOCK, .opcode = UNIFIED_IO_OP_CANCEL,
	     .net.fd = self->r.fd);
	CASE("cancel not armed", -ENOENT, .opcode = UNIFIED_IO_OP_CANCEL,
	     .net.fd = tcp);
	CASE("cancel all, none armed", 0, .opcode = UNIFIED_IO_OP_CANCEL,
	     .net.fd = -1, .net.flags = UNIFIED_IO_CANCEL_F_ALL);
#undef CASE
	ASSERT_GE(UT_ARRAY_SIZE(cs), n);

	for (unsigned int i = 0; i < n; i++) {
		struct unified_io_cqe sq;
		struct ucqe c;

		EXPECT_EQ(cs[i].err, ut_do(&self->r, &cs[i].d, &sq))
			TH_LOG("%s, through the SQ", cs[i].what);
		snap_take(&self->r, &s);
		EXPECT_EQ(cs[i].err, ucmd(&self->ring, self->r.fd, &cs[i].d, &c))
			TH_LOG("%s", cs[i].what);
		EXPECT_EQ(sq.addr, UNIFIED_IO_URING_RES2_ADDR(c.res2))
			TH_LOG("%s", cs[i].what);
		EXPECT_EQ(sq.flags, UNIFIED_IO_URING_RES2_FLAGS(c.res2))
			TH_LOG("%s", cs[i].what);
		snap_same(&self->r, &s, cs[i].d.opcode, 1);
	}
	close(tcp);
}

TEST_F(uabi, alloc_none_left_enobufs)
{
	struct unified_io_desc d = {};
	struct unified_io_cqe sq;
	struct snap s;

	for (__u32 i = 0; i < self->r.l.nr_bufs; i++)
		sq_alloc(OWNER);
	unio_prep_alloc(&d, OWNER, UD(0x500));
	EXPECT_EQ(-ENOBUFS, ut_do(&self->r, &d, &sq));
	snap_take(&self->r, &s);
	EXPECT_EQ(-ENOBUFS, ucmd(&self->ring, self->r.fd, &d, NULL));
	snap_same(&self->r, &s, UNIFIED_IO_OP_ALLOC, 1);
}

TEST_F(uabi, region_not_set_up_ebadfd)
{
	struct unified_io_desc d = {};
	struct unified_io_info info;
	int fd;

	UT_OPEN(fd);
	unio_prep_nop(&d, UD(0x600));
	EXPECT_EQ(-EBADFD, ucmd(&self->ring, fd, &d, NULL));
	unio_prep_alloc(&d, OWNER, UD(0x601));
	EXPECT_EQ(-EBADFD, ucmd(&self->ring, fd, &d, NULL));
	/* Still not set up. */
	ASSERT_EQ(0, ut_get_info(fd, &info));
	EXPECT_EQ(0U, info.config.nr_bufs);
	close(fd);
}

/*
 * Files without a uring_cmd: io_uring's EOPNOTSUPP.  (Not /dev/null, whose
 * uring_cmd succeeds, for io_uring's own tests.)
 */
TEST_F(uabi, not_a_region_eopnotsupp)
{
	struct unified_io_desc d = {};
	int fds[4];

	fds[0] = open("/dev/zero", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fds[0]);
	fds[1] = memfd_create("unio-uring", MFD_CLOEXEC);
	ASSERT_LE(0, fds[1]);
	ASSERT_EQ(0, pipe2(&fds[2], O_CLOEXEC));
	unio_prep_nop(&d, UD(0x700));
	for (int i = 0; i < 4; i++) {
		EXPECT_EQ(-EOPNOTSUPP, ucmd(&self->ring, fds[i], &d, NULL))
			TH_LOG("file %d", i);
		close(fds[i]);
	}
}

/*
 * Rings of mixed sizes: IORING_OP_URING_CMD128 on an IORING_SETUP_SQE_MIXED
 * ring, completions on an IORING_SETUP_CQE_MIXED ring (IORING_CQE_F_32).
 */
static int mixed_cmd(struct io_uring *ring, int fd, bool big,
		     const struct unified_io_desc *d, struct ucqe *c)
{
	struct unified_io_uring_cmd cmd = { .desc = *d };
	struct io_uring_sqe *sqe;

	sqe = big ? io_uring_get_sqe128(ring) : io_uring_get_sqe(ring);
	if (!sqe)
		return -12345;
	memset(sqe, 0, big ? 2 * sizeof(*sqe) : sizeof(*sqe));
	if (big) {
		io_uring_prep_uring_cmd128(sqe, UNIFIED_IO_URING_CMD_DESC, fd);
		memcpy(sqe->cmd, &cmd, sizeof(cmd));
	} else {
		io_uring_prep_uring_cmd(sqe, UNIFIED_IO_URING_CMD_DESC, fd);
		memcpy(sqe->cmd, &cmd, 16);
	}
	sqe->user_data = d->user_data;
	/* A 128-byte SQE of a mixed ring counts as two. */
	if (io_uring_submit(ring) != 1 + big || reap(ring, c, WAIT_MS))
		return -12345;
	return c->res;
}

TEST_F(uabi, mixed_rings)
{
	struct unified_io_desc d = {};
	struct io_uring ring;
	struct ucqe c;
	struct snap s;
	int ret;

	ret = ring_init(&ring, IORING_SETUP_SQE_MIXED | IORING_SETUP_CQE_MIXED);
	if (ret == -EINVAL)
		SKIP(return, "no IORING_SETUP_SQE_MIXED/CQE_MIXED");
	ASSERT_EQ(0, ret);
	unio_prep_alloc(&d, OWNER, UD(0x780));
	EXPECT_EQ((int)BUF_SIZE, mixed_cmd(&ring, self->r.fd, true, &d, &c));
	EXPECT_NE(0U, c.flags & IORING_CQE_F_32);
	EXPECT_EQ(OWNER, self->r.bt[bidx(&self->r,
				UNIFIED_IO_URING_RES2_ADDR(c.res2))].owner);
	/* A 64-byte command on that ring. */
	snap_take(&self->r, &s);
	EXPECT_EQ(-EINVAL, mixed_cmd(&ring, self->r.fd, false, &d, &c));
	snap_same(&self->r, &s, 0, 0);
	io_uring_queue_exit(&ring);

	/* 128-byte SQEs, mixed CQEs. */
	ASSERT_EQ(0, ring_init(&ring, IORING_SETUP_SQE128 | IORING_SETUP_CQE_MIXED));
	d.user_data = UD(0x781);
	EXPECT_EQ((int)BUF_SIZE, ucmd(&ring, self->r.fd, &d, &c));
	EXPECT_NE(0U, c.flags & IORING_CQE_F_32);
	EXPECT_EQ(OWNER, self->r.bt[bidx(&self->r,
				UNIFIED_IO_URING_RES2_ADDR(c.res2))].owner);
	/* The control area's counters, as the next SUBMIT publishes them. */
	EXPECT_EQ(0, ut_submit(self->r.fd, 0));
	EXPECT_EQ(2U, self->r.stats->bufs_app);
	io_uring_queue_exit(&ring);

	/* Mixed SQEs, 16-byte CQEs only. */
	ASSERT_EQ(0, ring_init(&ring, IORING_SETUP_SQE_MIXED));
	snap_take(&self->r, &s);
	d.user_data = UD(0x782);
	EXPECT_EQ(-EINVAL, mixed_cmd(&ring, self->r.fd, true, &d, &c));
	snap_same(&self->r, &s, 0, 0);
	io_uring_queue_exit(&ring);
}

/* --- uops: the operations ---------------------------------------------------- */

/*
 * Issued from io-wq (IOSQE_ASYNC: may sleep on the region's lock, completes
 * from a worker): the same results.
 */
TEST_F(uc, async_issue)
{
	struct unified_io_desc d = {};
	struct io_uring_sqe *sqe;
	struct ucqe c[3];
	__u64 b;

	unio_prep_alloc(&d, OWNER, 0);
	sqe = prep_desc(&self->ring, self->r.fd, &d, UD(0x880));
	sqe->flags |= IOSQE_ASYNC;
	ASSERT_EQ(0, submit_reap(&self->ring, c, 1));
	ASSERT_EQ((int)BUF_SIZE, c[0].res);
	b = UNIFIED_IO_URING_RES2_ADDR(c[0].res2);
	EXPECT_EQ(OWNER, self->r.bt[bidx(&self->r, b)].owner);

	memset(&d, 0, sizeof(d));
	unio_prep_nop(&d, 0);
	sqe = prep_desc(&self->ring, self->r.fd, &d, UD(0x881));
	sqe->flags |= IOSQE_ASYNC | IOSQE_IO_LINK;
	memset(&d, 0, sizeof(d));
	unio_prep_free(&d, OTHER, b, 0);
	sqe = prep_desc(&self->ring, self->r.fd, &d, UD(0x882));
	sqe->flags |= IOSQE_ASYNC | IOSQE_IO_LINK;
	memset(&d, 0, sizeof(d));
	unio_prep_free(&d, OWNER, b, 0);
	sqe = prep_desc(&self->ring, self->r.fd, &d, UD(0x883));
	sqe->flags |= IOSQE_ASYNC;
	ASSERT_EQ(0, submit_reap(&self->ring, c, 3));
	for (int i = 0; i < 3; i++) {
		const int want[] = { 0, -EPERM, -ECANCELED };

		EXPECT_EQ(UD(0x881 + i), c[i].user_data);
		EXPECT_EQ(want[i], c[i].res) TH_LOG("link %d", i);
	}
	EXPECT_EQ(UNIFIED_IO_BUF_APP, self->r.bt[bidx(&self->r, b)].state);
}

/* Threads of this process named @prefix (io_uring's io-wq workers: iou-wrk). */
static int threads_named(const char *prefix)
{
	char path[300], comm[32];
	struct dirent *e;
	int n = 0;
	DIR *dir = opendir("/proc/self/task");

	if (!dir)
		return -1;
	while ((e = readdir(dir))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) &&
		    !strncmp(comm, prefix, strlen(prefix)))
			n++;
		fclose(f);
	}
	closedir(dir);
	return n;
}

struct hammer {
	int fd;
	struct unio_queue *q;
	volatile bool stop;
	unsigned long submits, errors;
};

#define HAMMER_BATCH	128

/*
 * SUBMITs of HAMMER_BATCH NOPs through the SQ, each holding the region's
 * lock for the whole batch, until told to stop.
 */
static void *hammer_main(void *p)
{
	struct hammer *h = p;

	while (!h->stop) {
		struct unified_io_cqe *c;
		unsigned int got = 0;

		for (int i = 0; i < HAMMER_BATCH; i++) {
			struct unified_io_desc *d = unio_get_sqe(h->q);

			if (!d) {
				h->errors++;
				break;
			}
			memset(d, 0, sizeof(*d));
			unio_prep_nop(d, 0x4a);
		}
		unio_sq_flush(h->q);
		if (ut_submit(h->fd, HAMMER_BATCH) != HAMMER_BATCH)
			h->errors++;
		while ((c = unio_peek_cqe(h->q))) {
			if (c->res)
				h->errors++;
			unio_cqe_seen(h->q);
			got++;
		}
		if (got != HAMMER_BATCH)
			h->errors++;
		__atomic_add_fetch(&h->submits, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * Commands while SUBMIT holds the region's lock now and then: an issue
 * that finds it taken goes to io-wq (EAGAIN) and completes from there.
 */
TEST_F(uc, lock_contention)
{
	struct unified_io_desc d = {};
	struct unified_io_info info, info0;
	unsigned int n = 0, bad = 0;
	unsigned long before;
	struct hammer h;
	__u64 end;
	pthread_t t;

	/* Room for the competitor's batches. */
	ut_region_destroy(&self->r);
	if (!ut_region_create(&self->r, HAMMER_BATCH, 2 * HAMMER_BATCH, BUF_SIZE,
			      (__u64)NR_BUFS * BUF_SIZE, 0))
		return;
	memset(&h, 0, sizeof(h));
	h.fd = self->r.fd;
	h.q = &self->r.q;
	ASSERT_EQ(0, ut_region_info(&self->r, &info0));
	ASSERT_EQ(0, pthread_create(&t, NULL, hammer_main, &h));
	/* The competitor runs before the commands start. */
	end = ut_now_ns() + 10000000000ULL;
	while (!__atomic_load_n(&h.submits, __ATOMIC_RELAXED) && ut_now_ns() < end)
		usleep(1000);
	before = __atomic_load_n(&h.submits, __ATOMIC_RELAXED);
	/* 200 rounds, and on until it ran 200 batches meanwhile. */
	end = ut_now_ns() + 60000000000ULL;
	for (int round = 0; round < 200 ||
	     (__atomic_load_n(&h.submits, __ATOMIC_RELAXED) - before < 200 &&
	      ut_now_ns() < end); round++) {
		struct ucqe c[8];

		for (int i = 0; i < 8; i++) {
			memset(&d, 0, sizeof(d));
			if (i % 2)
				unio_prep_nop(&d, 0);
			else
				unio_prep_alloc(&d, OWNER, 0);
			ASSERT_NE(NULL, prep_desc(&self->ring, self->r.fd, &d,
						  UD(i)));
		}
		ASSERT_EQ(0, submit_reap(&self->ring, c, 8));
		for (int i = 0; i < 8; i++) {
			__u64 a = UNIFIED_IO_URING_RES2_ADDR(c[i].res2);

			n++;
			if (c[i].user_data % 2) {
				bad += c[i].res != 0;
				continue;
			}
			bad += c[i].res != (int)BUF_SIZE;
			/* Give it back at once, through the SQ's competitor. */
			memset(&d, 0, sizeof(d));
			unio_prep_free(&d, OWNER, a, UD(0x999));
			bad += ucmd(&self->ring, self->r.fd, &d, NULL) != 0;
		}
	}
	h.stop = true;
	pthread_join(t, NULL);
	EXPECT_EQ(0U, bad);
	EXPECT_EQ(0UL, h.errors);
	EXPECT_LT(0UL, before);
	EXPECT_LE(before + 200, h.submits);
	/* How many went to io-wq depends on the timing: said, not checked. */
	TH_LOG("%u commands beside %lu SUBMITs of %d; io-wq workers: %d", n,
	       h.submits, HAMMER_BATCH, threads_named("iou-wrk"));
	ASSERT_EQ(0, ut_region_info(&self->r, &info));
	EXPECT_EQ(NR_BUFS, info.stats.bufs_free);
	EXPECT_EQ(info0.stats.ops[UNIFIED_IO_OP_ALLOC] + n / 2,
		  info.stats.ops[UNIFIED_IO_OP_ALLOC]);
	EXPECT_EQ(info0.stats.ops[UNIFIED_IO_OP_FREE] + n / 2,
		  info.stats.ops[UNIFIED_IO_OP_FREE]);
	EXPECT_EQ(info0.stats.ops[UNIFIED_IO_OP_NOP] + n / 2 +
		  h.submits * HAMMER_BATCH, info.stats.ops[UNIFIED_IO_OP_NOP]);
}

TEST_F(uc, alloc_free_reuse)
{
	struct unified_io_info info;
	struct unified_io_desc d = {};
	__u64 addrs[NR_BUFS], again;
	struct ucqe c;
	struct snap s;

	snap_take(&self->r, &s);
	for (__u32 i = 0; i < self->r.l.nr_bufs; i++) {
		unio_prep_alloc(&d, OWNER, UD(0x800 + i));
		ASSERT_EQ((int)BUF_SIZE, ucmd(&self->ring, self->r.fd, &d, &c));
		addrs[i] = UNIFIED_IO_URING_RES2_ADDR(c.res2);
		EXPECT_EQ(0U, UNIFIED_IO_URING_RES2_FLAGS(c.res2));
		ASSERT_GT(self->r.l.data_size, addrs[i]);
		ASSERT_EQ(0ULL, addrs[i] % BUF_SIZE);
		EXPECT_EQ(OWNER, self->r.bt[bidx(&self->r, addrs[i])].owner);
		EXPECT_EQ(UNIFIED_IO_BUF_APP,
			  self->r.bt[bidx(&self->r, addrs[i])].state);
		EXPECT_EQ(1, self->r.bt[bidx(&self->r, addrs[i])].refs);
		for (__u32 j = 0; j < i; j++) {
			ASSERT_NE(addrs[j], addrs[i]);
		}
	}
	unio_prep_alloc(&d, OWNER, UD(0x8ff));
	EXPECT_EQ(-ENOBUFS, ucmd(&self->ring, self->r.fd, &d, NULL));

	/*
	 * Counted by opcode at once, in the control area once a SUBMIT
	 * (even of nothing) published the counters; no CQE.
	 */
	ASSERT_EQ(0, ut_region_info(&self->r, &info));
	EXPECT_EQ(s.info.stats.ops[UNIFIED_IO_OP_ALLOC] + NR_BUFS + 1,
		  info.stats.ops[UNIFIED_IO_OP_ALLOC]);
	EXPECT_EQ(0, ut_submit(self->r.fd, 0));
	EXPECT_EQ(info.stats.ops[UNIFIED_IO_OP_ALLOC],
		  self->r.stats->ops[UNIFIED_IO_OP_ALLOC]);
	EXPECT_EQ(0U, info.stats.bufs_free);
	EXPECT_EQ(NR_BUFS, info.stats.bufs_app);
	EXPECT_EQ(s.info.stats.cqes, info.stats.cqes);
	EXPECT_EQ(s.cq_tail, unio_smp_load_acquire(self->r.q.cq.ktail));

	/* FREE one: the next ALLOC takes it, the only one free. */
	unio_prep_free(&d, OWNER, addrs[5], UD(0x900));
	EXPECT_EQ(0, ucmd(&self->ring, self->r.fd, &d, &c));
	EXPECT_EQ(addrs[5], UNIFIED_IO_URING_RES2_ADDR(c.res2));
	EXPECT_EQ(0U, UNIFIED_IO_URING_RES2_FLAGS(c.res2));
	EXPECT_EQ(UNIFIED_IO_BUF_FREE, self->r.bt[bidx(&self->r, addrs[5])].state);
	EXPECT_EQ(-EALREADY, ucmd(&self->ring, self->r.fd, &d, NULL));
	memset(&d, 0, sizeof(d));
	unio_prep_alloc(&d, OTHER, UD(0x901));
	EXPECT_EQ((int)BUF_SIZE, ucmd(&self->ring, self->r.fd, &d, &c));
	again = UNIFIED_IO_URING_RES2_ADDR(c.res2);
	EXPECT_EQ(addrs[5], again);
	EXPECT_EQ(OTHER, self->r.bt[bidx(&self->r, again)].owner);

	/* Everything back, through the SQ this time: the same buffers. */
	for (__u32 i = 0; i < self->r.l.nr_bufs; i++) {
		EXPECT_EQ(0, ut_free(&self->r, i == 5 ? OTHER : OWNER, addrs[i]));
	}
	ASSERT_EQ(0, ut_region_info(&self->r, &info));
	EXPECT_EQ(NR_BUFS, info.stats.bufs_free);
}

TEST_F(uc, nop_and_res2_layout)
{
	struct unified_io_desc d = {};
	struct ucqe c;

	EXPECT_EQ(0x123456789abcULL,
		  UNIFIED_IO_URING_RES2_ADDR(0xfedc123456789abcULL));
	EXPECT_EQ(0xfedcU, UNIFIED_IO_URING_RES2_FLAGS(0xfedc123456789abcULL));
	unio_prep_nop(&d, UD(0xa00));
	EXPECT_EQ(0, ucmd(&self->ring, self->r.fd, &d, &c));
	EXPECT_EQ(0ULL, c.res2);
	/* Not a multishot: no IORING_CQE_F_MORE, no buffer. */
	EXPECT_EQ(0U, c.flags);
}

TEST_F(uc, bpf_pass_and_drop)
{
	struct unified_io_desc d = {};
	struct unified_io_cqe sq;
	__u64 b;
	struct ucqe c;
	__u8 *p;

	if (!common_bpf())
		return;
	b = sq_alloc(OWNER);
	p = bufp(&self->r, b);
	memset(p, 0x41, BUF_SIZE);

	/* ut_inc: first byte + 1, XDP_PASS: res the length. */
	unio_prep_bpf(&d, OWNER, b, 100, UD(0xb00));
	EXPECT_EQ(100, ucmd(&self->ring, self->r.fd, &d, &c));
	EXPECT_EQ(b, UNIFIED_IO_URING_RES2_ADDR(c.res2));
	EXPECT_EQ(0U, UNIFIED_IO_URING_RES2_FLAGS(c.res2));
	EXPECT_EQ(0x42, p[0]);
	EXPECT_EQ(0x41, p[1]);

	/* ut_inc then ut_drop: res 0, BPF_DROP and the index 1 in res2. */
	ASSERT_EQ(0, attach(self->r.fd,
			    bpf_program__fd(self->skel->progs.ut_drop)));
	d.user_data = UD(0xb01);
	EXPECT_EQ(0, ucmd(&self->ring, self->r.fd, &d, &c));
	EXPECT_EQ(b, UNIFIED_IO_URING_RES2_ADDR(c.res2));
	EXPECT_EQ(F_BPF_DROP | 1U << UNIFIED_IO_CQE_BPF_PROG_SHIFT,
		  UNIFIED_IO_URING_RES2_FLAGS(c.res2));
	EXPECT_EQ(0x43, p[0]);
	/* The SQ's completion says the same. */
	EXPECT_EQ(0, ut_do(&self->r, &d, &sq));
	EXPECT_EQ(UNIFIED_IO_URING_RES2_FLAGS(c.res2), sq.flags);
	EXPECT_EQ(0x44, p[0]);
}

/* --- ulink: chains ----------------------------------------------------------- */

TEST_F(uc, link_alloc_bpf_free)
{
	struct unified_io_desc d;
	struct unified_io_info info;
	struct ucqe c[3];
	struct io_uring_sqe *sqe;
	__u64 f;

	if (!common_bpf())
		return;
	/* All but one held: the ALLOC's buffer is known before it runs. */
	for (__u32 i = 0; i + 1 < self->r.l.nr_bufs; i++)
		sq_alloc(OTHER);
	f = free_buf(&self->r);
	ASSERT_NE(~0ULL, f);
	bufp(&self->r, f)[0] = 0x10;

	memset(&d, 0, sizeof(d));
	unio_prep_alloc(&d, OWNER, 0);
	sqe = prep_desc(&self->ring, self->r.fd, &d, UD(0xc00));
	sqe->flags |= IOSQE_IO_LINK;
	memset(&d, 0, sizeof(d));
	unio_prep_bpf(&d, OWNER, f, 64, 0);
	sqe = prep_desc(&self->ring, self->r.fd, &d, UD(0xc01));
	sqe->flags |= IOSQE_IO_LINK;
	memset(&d, 0, sizeof(d));
	unio_prep_free(&d, OWNER, f, 0);
	prep_desc(&self->ring, self->r.fd, &d, UD(0xc02));
	ASSERT_EQ(0, submit_reap(&self->ring, c, 3));

	/* In chain order. */
	EXPECT_EQ(UD(0xc00), c[0].user_data);
	EXPECT_EQ((int)BUF_SIZE, c[0].res);
	EXPECT_EQ(f, UNIFIED_IO_URING_RES2_ADDR(c[0].res2));
	EXPECT_EQ(UD(0xc01), c[1].user_data);
	EXPECT_EQ(64, c[1].res);
	EXPECT_EQ(f, UNIFIED_IO_URING_RES2_ADDR(c[1].res2));
	EXPECT_EQ(UD(0xc02), c[2].user_data);
	EXPECT_EQ(0, c[2].res);
	EXPECT_EQ(0x11, bufp(&self->r, f)[0]);
	EXPECT_EQ(UNIFIED_IO_BUF_FREE, self->r.bt[bidx(&self->r, f)].state);
	ASSERT_EQ(0, ut_region_info(&self->r, &info));
	EXPECT_EQ(1U, info.stats.bufs_free);
}

TEST_F(uc, link_middle_fails_rest_canceled)
{
	struct unified_io_desc d;
	struct ucqe c[4];
	struct io_uring_sqe *sqe;
	struct snap s;
	__u64 held;

	held = sq_alloc(OWNER);
	snap_take(&self->r, &s);

	/* NOP -> BPF of a buffer OTHER does not hold -> FREE -> ALLOC. */
	memset(&d, 0, sizeof(d));
	unio_prep_nop(&d, 0);
	sqe = prep_desc(&self->ring, self->r.fd, &d, UD(0xd00));
	sqe->flags |= IOSQE_IO_LINK;
	memset(&d, 0, sizeof(d));
	unio_prep_bpf(&d, OTHER, held, 64, 0);
	sqe = prep_desc(&self->ring, self->r.fd, &d, UD(0xd01));
	sqe->flags |= IOSQE_IO_LINK;
	memset(&d, 0, sizeof(d));
	unio_prep_free(&d, OWNER, held, 0);
	sqe = prep_desc(&self->ring, self->r.fd, &d, UD(0xd02));
	sqe->flags |= IOSQE_IO_LINK;
	memset(&d, 0, sizeof(d));
	unio_prep_alloc(&d, OWNER, 0);
	prep_desc(&self->ring, self->r.fd, &d, UD(0xd03));
	ASSERT_EQ(0, submit_reap(&self->ring, c, 4));

	for (int i = 0; i < 4; i++) {
		const int want[] = { 0, -EPERM, -ECANCELED, -ECANCELED };
		int j;

		for (j = 0; j < 4 && c[j].user_data != UD(0xd00 + i); j++)
			;
		ASSERT_GT(4, j) TH_LOG("no completion of link %d", i);
		EXPECT_EQ(want[i], c[j].res) TH_LOG("link %d", i);
	}
	/* The NOP and the BPF ran; neither the FREE nor the ALLOC did. */
	s.info.stats.ops[UNIFIED_IO_OP_NOP]++;
	snap_same(&self->r, &s, UNIFIED_IO_OP_BPF, 1);
	EXPECT_EQ(UNIFIED_IO_BUF_APP, self->r.bt[bidx(&self->r, held)].state);
}

/* --- ulink: with NVMe passthrough -------------------------------------------- */

#define NVME_SLBA	(768ULL << 20)	/* bytes into the namespace */

/* The character device of a namespace of controller 0 with 512-byte LBAs. */
static bool find_ng(char *chr, size_t len, __u32 *lbs_out)
{
	for (int n = 1; n <= 16; n++) {
		char path[96];
		unsigned int lbs = 0;
		struct stat st;
		FILE *f;

		snprintf(path, sizeof(path),
			 "/sys/block/nvme0n%d/queue/logical_block_size", n);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%u", &lbs) != 1)
			lbs = 0;
		fclose(f);
		snprintf(chr, len, "/dev/ng0n%d", n);
		if (lbs && !stat(chr, &st)) {
			*lbs_out = lbs;
			return true;
		}
	}
	return false;
}

static void prep_nvme(struct io_uring *ring, int ng, __u32 nsid, __u8 opcode,
		      void *buf, __u32 len, __u64 slba, __u32 lbs, __u64 ud,
		      bool link)
{
	struct io_uring_sqe *sqe = get_sqe(ring);
	struct nvme_uring_cmd *cmd = (struct nvme_uring_cmd *)sqe->cmd;

	io_uring_prep_uring_cmd(sqe, NVME_URING_CMD_IO, ng);
	sqe->uring_cmd_flags = IORING_URING_CMD_FIXED;
	sqe->buf_index = 0;
	sqe->user_data = ud;
	if (link)
		sqe->flags |= IOSQE_IO_LINK;
	cmd->opcode = opcode;
	cmd->nsid = nsid;
	cmd->addr = (__u64)(uintptr_t)buf;
	cmd->data_len = len;
	cmd->cdw10 = (__u32)slba;
	cmd->cdw11 = (__u32)(slba >> 32);
	cmd->cdw12 = len / lbs - 1;
}

FIXTURE(unvme) {
	struct ut_region r;
	struct io_uring ring;
	bool ring_ok;
	struct ut_xdp_bpf *skel;
	int ng;
	__u32 nsid, lbs;
};

FIXTURE_SETUP(unvme)
{
	char chr[64];
	int ret;

	self->ng = -1;
	if (!common_setup())
		return;
	if (!find_ng(chr, sizeof(chr), &self->lbs))
		SKIP(return, "no NVMe namespace on controller 0");
	self->ng = open(chr, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ng) TH_LOG("open %s: %s", chr, strerror(errno));
	ret = ioctl(self->ng, NVME_IOCTL_ID);
	ASSERT_LT(0, ret) TH_LOG("NVME_IOCTL_ID: %s", strerror(errno));
	self->nsid = ret;
	if (!common_bpf())
		return;
	ASSERT_EQ(0, register_data(&self->ring, &self->r));
}

FIXTURE_TEARDOWN(unvme)
{
	if (self->ng >= 0)
		close(self->ng);
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	if (self->skel)
		ut_xdp_bpf__destroy(self->skel);
	ut_region_destroy(&self->r);
}

/*
 * BPF of buffer A (known up front) -> NVMe WRITE of A -> NVMe READ into B,
 * one submit; with @bad_owner the BPF fails (EPERM) and neither the WRITE
 * nor the READ runs: B keeps its poison, the blocks their old bytes.
 */
static void __bpf_nvme_chain(struct __test_metadata *_metadata,
			     FIXTURE_DATA(unvme) *self, __u64 slba_bytes,
			     bool bad_owner)
{
	struct ut_region *r = &self->r;
	__u64 a = __sq_alloc(_metadata, r, OWNER);
	__u64 b = __sq_alloc(_metadata, r, OWNER);
	__u64 slba = slba_bytes / self->lbs;
	struct unified_io_desc d = {};
	__u8 *pa = bufp(r, a), *pb = bufp(r, b);
	struct io_uring_sqe *sqe;
	struct ucqe c[3];
	__u64 seed = 0xb0 + bad_owner;

	for (__u32 i = 0; i < BUF_SIZE; i++)
		pa[i] = ut_pattern(seed, i);
	memset(pb, 0xa5, BUF_SIZE);

	/* The blocks start with zeroes: written, then overwritten by the chain. */
	prep_nvme(&self->ring, self->ng, self->nsid, 0x01, pb, BUF_SIZE, slba,
		  self->lbs, UD(0xe0f), false);
	ASSERT_EQ(0, submit_reap(&self->ring, c, 1));
	ASSERT_EQ(0, c[0].res) TH_LOG("NVMe write of the poison");
	memset(pb, 0x5a, BUF_SIZE);

	unio_prep_bpf(&d, bad_owner ? OTHER : OWNER, a, BUF_SIZE, 0);
	sqe = prep_desc(&self->ring, r->fd, &d, UD(0xe00));
	sqe->flags |= IOSQE_IO_LINK;
	prep_nvme(&self->ring, self->ng, self->nsid, 0x01, pa, BUF_SIZE, slba,
		  self->lbs, UD(0xe01), true);
	prep_nvme(&self->ring, self->ng, self->nsid, 0x02, pb, BUF_SIZE, slba,
		  self->lbs, UD(0xe02), false);
	ASSERT_EQ(0, submit_reap(&self->ring, c, 3));
	for (int i = 0; i < 3; i++) {
		const int ok[] = { BUF_SIZE, 0, 0 };
		const int bad[] = { -EPERM, -ECANCELED, -ECANCELED };
		int j;

		for (j = 0; j < 3 && c[j].user_data != UD(0xe00 + i); j++)
			;
		ASSERT_GT(3, j);
		EXPECT_EQ(bad_owner ? bad[i] : ok[i], c[j].res) TH_LOG("link %d", i);
	}
	if (bad_owner) {
		/* Nothing after the BPF ran: B as it was, A untouched. */
		for (__u32 i = 0; i < BUF_SIZE; i++) {
			ASSERT_EQ(0x5a, pb[i]) TH_LOG("byte %u", i);
			ASSERT_EQ(ut_pattern(seed, i), pa[i]) TH_LOG("byte %u", i);
		}
		/* And the blocks still hold the poison written first. */
		prep_nvme(&self->ring, self->ng, self->nsid, 0x02, pb, BUF_SIZE,
			  slba, self->lbs, UD(0xe10), false);
		ASSERT_EQ(0, submit_reap(&self->ring, c, 1));
		ASSERT_EQ(0, c[0].res);
		for (__u32 i = 0; i < BUF_SIZE; i++) {
			ASSERT_EQ(0xa5, pb[i]) TH_LOG("byte %u", i);
		}
		return;
	}
	/* B holds A's bytes as the program left them: the first one + 1. */
	EXPECT_EQ((__u8)(ut_pattern(seed, 0) + 1), pa[0]);
	for (__u32 i = 0; i < BUF_SIZE; i++) {
		__u8 want = ut_pattern(seed, i) + (i == 0);

		ASSERT_EQ(want, pb[i]) TH_LOG("byte %u", i);
	}
}

TEST_F(unvme, bpf_write_read_chain)
{
	__bpf_nvme_chain(_metadata, self, NVME_SLBA, false);
}

TEST_F(unvme, bpf_fails_nothing_after_runs)
{
	__bpf_nvme_chain(_metadata, self, NVME_SLBA + BUF_SIZE, true);
}

/* --- usend ------------------------------------------------------------------- */

/*
 * A connected TCP pair on 127.0.0.1: *snd blocking with a large SO_SNDBUF,
 * *rcv non-blocking, accepted from a listener whose SO_RCVBUF is @rcvbuf
 * (if > 0).
 */
static int tcp_pair(int rcvbuf, int *snd, int *rcv)
{
	int sndbuf = 256 << 10;
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t sl = sizeof(sin);
	int ls, ret;

	*snd = *rcv = -1;
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		return -errno;
	if ((rcvbuf > 0 &&
	     setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf))) ||
	    bind(ls, (struct sockaddr *)&sin, sizeof(sin)) || listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&sin, &sl))
		goto fail;
	*snd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* Room in the send queue once the peer's window is closed. */
	if (*snd < 0 ||
	    setsockopt(*snd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) ||
	    connect(*snd, (struct sockaddr *)&sin, sizeof(sin)))
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

/* Bytes written but not yet sent (SIOCOUTQNSD), or -errno. */
static long outq_unsent(int s)
{
	int n;

	return ioctl(s, SIOCOUTQNSD, &n) ? -errno : n;
}

/*
 * Close the peer's receive window with plain bytes (0xee) until some stay
 * unsent on @s; returns the bytes written, or -errno.
 */
static long block_peer(int s)
{
	static __u8 buf[4096];
	long sent = 0;

	memset(buf, 0xee, sizeof(buf));
	while (sent < (4L << 20)) {
		ssize_t w = send(s, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w > 0)
			sent += w;
		usleep(20000);
		if (outq_unsent(s) > 0) {
			usleep(50000);
			return outq_unsent(s) > 0 ? sent : -EAGAIN;
		}
	}
	return -ENOSPC;
}

/*
 * Read exactly @len bytes from the non-blocking @fd into @buf within
 * @ms; returns the bytes read.
 */
static size_t read_n(int fd, __u8 *buf, size_t len, int ms)
{
	__u64 end = ut_now_ns() + (__u64)ms * 1000000;
	size_t got = 0;

	while (got < len && ut_now_ns() < end) {
		ssize_t n = recv(fd, buf + got, len - got, 0);

		if (n > 0) {
			got += n;
			continue;
		}
		if (n == 0)
			break;
		usleep(1000);
	}
	return got;
}

static void prep_send(struct unified_io_desc *d, int fd, __u16 owner,
		      __u64 addr, __u32 len, __u32 flags, __u64 ud)
{
	memset(d, 0, sizeof(*d));
	unio_prep_send(d, fd, owner, addr, len, flags, ud);
}

FIXTURE(usend) {
	struct ut_region r;
	struct io_uring ring;
	bool ring_ok;
	struct ut_xdp_bpf *skel;
	int s, peer;
};

FIXTURE_SETUP(usend)
{
	int ret;

	self->s = self->peer = -1;
	if (!common_setup())
		return;
	if (!(features(self->r.fd) & UNIFIED_IO_FEAT_NET_SEND))
		SKIP(return, "no UNIFIED_IO_FEAT_NET_SEND");
	ret = tcp_pair(4096, &self->s, &self->peer);
	ASSERT_EQ(0, ret) TH_LOG("TCP pair: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(usend)
{
	if (self->s >= 0)
		close(self->s);
	if (self->peer >= 0)
		close(self->peer);
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	if (self->skel)
		ut_xdp_bpf__destroy(self->skel);
	ut_region_destroy(&self->r);
}

static int send_info(struct ut_region *r, struct unified_io_send_info *si)
{
	struct unified_io_info info;
	int ret = ut_region_info(r, &info);

	*si = info.send;
	return ret;
}

/* No completion on @ring within @ms. */
static void __expect_no_cqe(struct __test_metadata *_metadata,
			    struct io_uring *ring, int ms)
{
	struct ucqe c;
	int ret = reap(ring, &c, ms);

	EXPECT_EQ(-ETIME, ret) TH_LOG("unexpected completion %#llx res %d res2 %#llx",
				      (unsigned long long)c.user_data, c.res,
				      (unsigned long long)c.res2);
}

#define expect_no_cqe(ring, ms)	__expect_no_cqe(_metadata, ring, ms)

TEST_F(usend, one_completion_after_notification)
{
	struct unified_io_send_info si0, si;
	struct unified_io_desc d;
	struct snap s;
	static __u8 got[BUF_SIZE], skip[4L << 20];
	long long cmds;
	struct ucqe c;
	__u64 b;
	long blocked;
	__u8 *p;

	b = sq_alloc(OWNER);
	p = bufp(&self->r, b);
	for (__u32 i = 0; i < BUF_SIZE; i++)
		p[i] = ut_pattern(0x5e, i);
	ASSERT_EQ(0, send_info(&self->r, &si0));

	/* A peer that does not read: the bytes stay in the send queue. */
	blocked = block_peer(self->s);
	ASSERT_LT(0, blocked) TH_LOG("closing the peer's window: %s",
				     strerror(-blocked));
	snap_take(&self->r, &s);
	prep_send(&d, self->s, OWNER, b + 96, 3000, 0, UD(0xf00));
	ASSERT_NE(NULL, prep_desc(&self->ring, self->r.fd, &d, UD(0xf00)));
	ASSERT_EQ(1, io_uring_submit(&self->ring));

	/* Queued, not released: no completion, the buffer SENDING. */
	expect_no_cqe(&self->ring, 300);
	EXPECT_EQ(UNIFIED_IO_BUF_SENDING, self->r.bt[bidx(&self->r, b)].state);
	EXPECT_EQ(2, self->r.bt[bidx(&self->r, b)].refs);
	ASSERT_EQ(0, send_info(&self->r, &si));
	EXPECT_EQ(si0.sends + 1, si.sends);
	EXPECT_EQ(si0.send_bytes + 3000, si.send_bytes);
	EXPECT_EQ(1U, si.inflight);
	EXPECT_EQ(1U, si.bufs_sending);
	EXPECT_EQ(1LL, ut_fdinfo(self->r.fd, "uring_sends_inflight"));
	cmds = ut_fdinfo(self->r.fd, "uring_cmds");
	EXPECT_LE(1LL, cmds);

	/* FREE and BPF of it: EBUSY, as through the SQ. */
	memset(&d, 0, sizeof(d));
	unio_prep_free(&d, OWNER, b, UD(0xf01));
	EXPECT_EQ(-EBUSY, ucmd(&self->ring, self->r.fd, &d, NULL));
	memset(&d, 0, sizeof(d));
	unio_prep_bpf(&d, OWNER, b, 8, UD(0xf02));
	EXPECT_EQ(-EBUSY, ucmd(&self->ring, self->r.fd, &d, NULL));

	/* The peer reads: the one completion, with the notification's flags. */
	ASSERT_EQ((size_t)blocked, read_n(self->peer, skip, blocked, WAIT_MS));
	ASSERT_EQ(3000U, read_n(self->peer, got, 3000, WAIT_MS));
	for (__u32 i = 0; i < 3000; i++) {
		ASSERT_EQ(ut_pattern(0x5e, 96 + i), got[i]) TH_LOG("byte %u", i);
	}
	ASSERT_EQ(0, reap(&self->ring, &c, WAIT_MS));
	EXPECT_EQ(UD(0xf00), c.user_data);
	EXPECT_EQ(3000, c.res);
	EXPECT_EQ(b + 96, UNIFIED_IO_URING_RES2_ADDR(c.res2));
	/* Loopback delivery copies: F_COPIED, as the SQ's notification has. */
	EXPECT_EQ(F_NOTIF | F_COPIED, UNIFIED_IO_URING_RES2_FLAGS(c.res2));
	EXPECT_EQ(0U, c.flags & IORING_CQE_F_MORE);
	expect_no_cqe(&self->ring, 200);

	EXPECT_EQ(UNIFIED_IO_BUF_APP, self->r.bt[bidx(&self->r, b)].state);
	EXPECT_EQ(1, self->r.bt[bidx(&self->r, b)].refs);
	ASSERT_EQ(0, send_info(&self->r, &si));
	EXPECT_EQ(si0.notifs + 1, si.notifs);
	EXPECT_EQ(0U, si.inflight);
	EXPECT_EQ(0U, si.bufs_sending);
	EXPECT_EQ(0LL, ut_fdinfo(self->r.fd, "uring_sends_inflight"));
	/* The two refused above, one error each. */
	EXPECT_EQ(cmds + 2, ut_fdinfo(self->r.fd, "uring_cmds"));
	EXPECT_EQ(2LL, ut_fdinfo(self->r.fd, "uring_cmd_errors"));
	/* Nothing on the module's CQ, no slot reserved there. */
	EXPECT_EQ(s.cq_tail, unio_smp_load_acquire(self->r.q.cq.ktail));
	EXPECT_EQ(0U, unio_cq_ready(&self->r.q));
	EXPECT_EQ(0, ut_free(&self->r, OWNER, b));
}

/* A SEND that queues nothing completes at once, with no notification. */
TEST_F(usend, nothing_queued_completes_at_once)
{
	struct unified_io_send_info si0, si;
	struct unified_io_desc d;
	struct unified_io_cqe sq;
	struct ucqe c;
	__u64 b = sq_alloc(OWNER), f = free_buf(&self->r);
	struct {
		const char *what;
		int fd;
		__u16 owner;
		__u64 addr;
		__u32 len, flags;
		int err;
	} cs[] = {
		{ "fd not open", 1000, OWNER, b, 100, 0, -EBADF },
		{ "free buffer", self->s, OWNER, f, 100, 0, -EPERM },
		{ "other owner", self->s, OTHER, b, 100, 0, -EPERM },
		{ "len 0", self->s, OWNER, b, 0, 0, -EINVAL },
		{ "across buffers", self->s, OWNER, b + 100, BUF_SIZE, 0, -EINVAL },
		{ "bpf without program", self->s, OWNER, b, 100,
		  UNIFIED_IO_SEND_F_BPF, -ENOENT },
		{ "shut down", self->s, OWNER, b, 100, 0, -EPIPE },
	};

	ASSERT_EQ(0, send_info(&self->r, &si0));
	for (unsigned int i = 0; i < UT_ARRAY_SIZE(cs); i++) {
		__u64 t0;

		if (cs[i].err == -EPIPE)
			ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
		prep_send(&d, cs[i].fd, cs[i].owner, cs[i].addr, cs[i].len,
			  cs[i].flags, UD(0x1000 + i));
		/* The SQ's errno first. */
		EXPECT_EQ(cs[i].err, ut_do(&self->r, &d, &sq)) TH_LOG("%s", cs[i].what);
		t0 = ut_now_ns();
		EXPECT_EQ(cs[i].err, ucmd(&self->ring, self->r.fd, &d, &c))
			TH_LOG("%s", cs[i].what);
		EXPECT_GT(2000000000ULL, ut_now_ns() - t0);
		EXPECT_EQ(sq.addr, UNIFIED_IO_URING_RES2_ADDR(c.res2))
			TH_LOG("%s", cs[i].what);
		EXPECT_EQ(0U, UNIFIED_IO_URING_RES2_FLAGS(c.res2));
		EXPECT_EQ(UNIFIED_IO_BUF_APP, self->r.bt[bidx(&self->r, b)].state);
		EXPECT_EQ(1, self->r.bt[bidx(&self->r, b)].refs);
	}
	expect_no_cqe(&self->ring, 200);
	ASSERT_EQ(0, send_info(&self->r, &si));
	EXPECT_EQ(si0.sends, si.sends);
	EXPECT_EQ(0U, si.inflight);
	EXPECT_EQ(0U, unio_cq_ready(&self->r.q));
}

/* XDP_DROP: res 0 at once, BPF_DROP in res2, nothing on the wire. */
TEST_F(usend, bpf_drop_completes_at_once)
{
	struct unified_io_send_info si0, si;
	struct unified_io_desc d;
	struct ucqe c;
	__u8 byte;
	__u64 b;

	if (!common_bpf())
		return;
	ASSERT_EQ(0, attach(self->r.fd,
			    bpf_program__fd(self->skel->progs.ut_drop)));
	b = sq_alloc(OWNER);
	ASSERT_EQ(0, send_info(&self->r, &si0));
	prep_send(&d, self->s, OWNER, b, 512, UNIFIED_IO_SEND_F_BPF, UD(0x1100));
	EXPECT_EQ(0, ucmd(&self->ring, self->r.fd, &d, &c));
	EXPECT_EQ(b, UNIFIED_IO_URING_RES2_ADDR(c.res2));
	EXPECT_EQ(F_BPF_DROP | 1U << UNIFIED_IO_CQE_BPF_PROG_SHIFT,
		  UNIFIED_IO_URING_RES2_FLAGS(c.res2));
	expect_no_cqe(&self->ring, 200);
	EXPECT_EQ(-1, recv(self->peer, &byte, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, send_info(&self->r, &si));
	EXPECT_EQ(si0.bpf_drops + 1, si.bpf_drops);
	EXPECT_EQ(0U, si.inflight);
	EXPECT_EQ(UNIFIED_IO_BUF_APP, self->r.bt[bidx(&self->r, b)].state);
}

/*
 * Many SENDs, linked, some issued from io-wq: all completed once each, the
 * stream intact.
 */
TEST_F(usend, stream_in_order)
{
	enum { N = 12, LEN = 1000 };
	static __u8 got[N * LEN];
	struct unified_io_desc d;
	struct io_uring_sqe *sqe;
	bool seen[N] = {};
	__u64 b = sq_alloc(OWNER);
	__u8 *p = bufp(&self->r, b);

	for (__u32 i = 0; i < BUF_SIZE; i++)
		p[i] = ut_pattern(0x77, i);
	/* Linked, so that each queues after the one before. */
	for (int i = 0; i < N; i++) {
		prep_send(&d, self->s, OWNER, b + (i % 4) * LEN, LEN, 0, 0);
		sqe = prep_desc(&self->ring, self->r.fd, &d, UD(0x1200 + i));
		ASSERT_NE(NULL, sqe);
		if (i + 1 < N)
			sqe->flags |= IOSQE_IO_LINK;
		/* Every third from io-wq. */
		if (i % 3 == 1)
			sqe->flags |= IOSQE_ASYNC;
	}
	ASSERT_EQ(N, io_uring_submit(&self->ring));
	ASSERT_EQ((size_t)N * LEN, read_n(self->peer, got, N * LEN, WAIT_MS));
	for (int i = 0; i < N * LEN; i++) {
		ASSERT_EQ(ut_pattern(0x77, (i / LEN % 4) * LEN + i % LEN), got[i])
			TH_LOG("byte %d", i);
	}
	for (int i = 0; i < N; i++) {
		struct ucqe c;

		ASSERT_EQ(0, reap(&self->ring, &c, WAIT_MS)) TH_LOG("completion %d", i);
		ASSERT_LE(UD(0x1200), c.user_data);
		ASSERT_GT(UD(0x1200 + N), c.user_data);
		EXPECT_FALSE(seen[c.user_data - UD(0x1200)]);
		seen[c.user_data - UD(0x1200)] = true;
		EXPECT_EQ(LEN, c.res);
		EXPECT_EQ(F_NOTIF, UNIFIED_IO_URING_RES2_FLAGS(c.res2) & ~F_COPIED);
	}
	expect_no_cqe(&self->ring, 200);
	EXPECT_EQ(UNIFIED_IO_BUF_APP, self->r.bt[bidx(&self->r, b)].state);
	EXPECT_EQ(1, self->r.bt[bidx(&self->r, b)].refs);
}

/* --- uexit: processes that exit with commands in flight ---------------------- */

static int module_refcnt(void)
{
	FILE *f = fopen("/sys/module/unified_io/refcnt", "r");
	int n = -1;

	if (!f)
		return -errno;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/* Wait up to @ms for the module's reference count to be @want. */
static int refcnt_settles(int want, int ms)
{
	__u64 end = ut_now_ns() + (__u64)ms * 1000000;
	int n;

	while ((n = module_refcnt()) != want && ut_now_ns() < end)
		usleep(20000);
	return n;
}

struct child_arg {
	int region, s;		/* inherited, or -1: the child makes its own */
	__u64 buf;
	unsigned int sends;
};

/*
 * The child: a ring of its own, commands and SENDs on it, and exit without
 * reaping anything (or tearing the ring down).  With no region or socket
 * inherited it makes both, and a peer that does not read.
 */
static int child_main(void *p)
{
	struct child_arg *a = p;
	struct unified_io_desc d;
	struct io_uring ring;
	int fd = a->region, s = a->s, peer = -1;
	__u64 buf = a->buf;

	if (ring_init(&ring, RING_FLAGS))
		return 10;
	if (fd < 0) {
		struct unified_io_setup su;
		struct ucqe c;

		fd = open(UNIFIED_IO_DEVICE, O_RDWR | O_CLOEXEC);
		ut_setup_init(&su, 8, 16, BUF_SIZE, NR_BUFS * BUF_SIZE, 0);
		if (fd < 0 || ioctl(fd, UNIFIED_IO_SETUP, &su))
			return 11;
		/* The buffer, through the ring. */
		memset(&d, 0, sizeof(d));
		unio_prep_alloc(&d, OWNER, 1);
		if (!prep_desc(&ring, fd, &d, 1) || io_uring_submit(&ring) != 1 ||
		    reap(&ring, &c, WAIT_MS) || c.res != BUF_SIZE)
			return 12;
		buf = UNIFIED_IO_URING_RES2_ADDR(c.res2);
		if (tcp_pair(4096, &s, &peer) || block_peer(s) < 0)
			return 13;
	}
	/* Commands that complete at once, never reaped. */
	memset(&d, 0, sizeof(d));
	unio_prep_nop(&d, 2);
	prep_desc(&ring, fd, &d, 2);
	memset(&d, 0, sizeof(d));
	unio_prep_alloc(&d, OTHER, 3);
	prep_desc(&ring, fd, &d, 3);
	for (unsigned int i = 0; i < a->sends; i++) {
		prep_send(&d, s, OWNER, buf, 1000, 0, 4);
		if (!prep_desc(&ring, fd, &d, 100 + i))
			return 14;
		if (io_uring_submit(&ring) != 1 + 2 * !i)
			return 15;
	}
	/* Give the commands time to be issued (io-wq), then go. */
	usleep(100000);
	_exit(0);
}

FIXTURE(uexit) {
	struct ut_region r;
	struct io_uring ring;
	bool ring_ok;
	struct ut_xdp_bpf *skel;
	int s, peer;
};

FIXTURE_SETUP(uexit)
{
	int ret;

	self->s = self->peer = -1;
	if (!common_setup())
		return;
	if (!(features(self->r.fd) & UNIFIED_IO_FEAT_NET_SEND))
		SKIP(return, "no UNIFIED_IO_FEAT_NET_SEND");
	ret = tcp_pair(4096, &self->s, &self->peer);
	ASSERT_EQ(0, ret) TH_LOG("TCP pair: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(uexit)
{
	if (self->s >= 0)
		close(self->s);
	if (self->peer >= 0)
		close(self->peer);
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	ut_region_destroy(&self->r);
}

/*
 * The child's SENDs on our region and socket are in flight when it exits:
 * io_uring cancels them, the buffer stays SENDING until the peer reads,
 * then comes back; the other commands ran.
 */
TEST_F(uexit, sends_in_flight_on_shared_region)
{
	struct child_arg a = { .sends = 5 };
	struct unified_io_send_info si;
	struct unified_io_info info;
	static __u8 sink[4L << 20];
	long blocked;
	__u64 b;
	int status;

	b = sq_alloc(OWNER);
	blocked = block_peer(self->s);
	ASSERT_LT(0, blocked);
	a.region = self->r.fd;
	a.s = self->s;
	a.buf = b;
	status = ut_in_child(child_main, &a);
	ASSERT_EQ(0, status);

	/* Still queued: SENDING with one reference per SEND. */
	EXPECT_EQ(UNIFIED_IO_BUF_SENDING, self->r.bt[bidx(&self->r, b)].state);
	EXPECT_EQ(1 + a.sends, self->r.bt[bidx(&self->r, b)].refs);
	ASSERT_EQ(0, send_info(&self->r, &si));
	EXPECT_EQ(a.sends, si.inflight);
	/* The child's ALLOC and NOP ran. */
	ASSERT_EQ(0, ut_region_info(&self->r, &info));
	EXPECT_EQ(2U, info.stats.bufs_app);

	/* The peer reads everything: the buffer comes back. */
	EXPECT_EQ((size_t)blocked + 1000 * a.sends,
		  read_n(self->peer, sink, blocked + 1000 * a.sends, WAIT_MS));
	for (int i = 0; i < 500 && self->r.bt[bidx(&self->r, b)].refs != 1; i++)
		usleep(10000);
	EXPECT_EQ(UNIFIED_IO_BUF_APP, self->r.bt[bidx(&self->r, b)].state);
	EXPECT_EQ(1, self->r.bt[bidx(&self->r, b)].refs);
	ASSERT_EQ(0, send_info(&self->r, &si));
	EXPECT_EQ(0U, si.inflight);
	EXPECT_EQ(0U, si.bufs_sending);
	EXPECT_EQ(0, ut_free(&self->r, OWNER, b));
}

struct share_arg {
	struct io_uring *ring;
	int region, s;
	__u64 buf;
	bool exec;
};

/* Submit a SEND on the parent's ring, then exit, or exec (true(1)). */
static int share_child(void *p)
{
	struct share_arg *a = p;
	struct unified_io_desc d;

	prep_send(&d, a->s, OWNER, a->buf, 700, 0, 0);
	if (!prep_desc(a->ring, a->region, &d, UD(0x1300)))
		return 20;
	if (io_uring_submit(a->ring) != 1)
		return 21;
	usleep(100000);
	if (a->exec) {
		execl("/bin/true", "true", (char *)NULL);
		return 22;
	}
	return 0;
}

/*
 * A SEND submitted on a ring the parent shares, by a child that exits or
 * execs before its notification.  Exit: the command outlives its task and
 * completes when the peer has read.  Exec: io_uring cancels the task's
 * requests, and the parent reaps ECANCELED; the bytes still go out, and
 * the buffer comes back after them.
 */
static void __shared_ring_send(struct __test_metadata *_metadata,
			       FIXTURE_DATA(uexit) *self, bool exec)
{
	struct share_arg a = { .ring = &self->ring, .region = self->r.fd,
			       .s = self->s, .exec = exec };
	static __u8 sink[4L << 20], got[700];
	struct unified_io_send_info si;
	struct ucqe c;
	long blocked;

	a.buf = __sq_alloc(_metadata, &self->r, OWNER);
	for (__u32 i = 0; i < 700; i++)
		bufp(&self->r, a.buf)[i] = ut_pattern(0xcc, i);
	blocked = block_peer(self->s);
	ASSERT_LT(0, blocked);
	ASSERT_EQ(0, ut_in_child(share_child, &a));

	if (exec) {
		ASSERT_EQ(0, reap(&self->ring, &c, WAIT_MS));
		EXPECT_EQ(UD(0x1300), c.user_data);
		EXPECT_EQ(-ECANCELED, c.res);
		EXPECT_EQ(a.buf, UNIFIED_IO_URING_RES2_ADDR(c.res2));
		EXPECT_EQ(0U, UNIFIED_IO_URING_RES2_FLAGS(c.res2));
	} else {
		expect_no_cqe(&self->ring, 300);
	}
	EXPECT_EQ(UNIFIED_IO_BUF_SENDING, self->r.bt[bidx(&self->r, a.buf)].state);
	EXPECT_EQ(1LL, ut_fdinfo(self->r.fd, "uring_sends_inflight"));

	ASSERT_EQ((size_t)blocked, read_n(self->peer, sink, blocked, WAIT_MS));
	ASSERT_EQ(700U, read_n(self->peer, got, 700, WAIT_MS));
	for (__u32 i = 0; i < 700; i++) {
		ASSERT_EQ(ut_pattern(0xcc, i), got[i]) TH_LOG("byte %u", i);
	}
	if (!exec) {
		ASSERT_EQ(0, reap(&self->ring, &c, WAIT_MS));
		EXPECT_EQ(UD(0x1300), c.user_data);
		EXPECT_EQ(700, c.res);
		EXPECT_EQ(a.buf, UNIFIED_IO_URING_RES2_ADDR(c.res2));
		EXPECT_EQ(F_NOTIF | F_COPIED, UNIFIED_IO_URING_RES2_FLAGS(c.res2));
	}
	for (int i = 0; i < 500 && self->r.bt[bidx(&self->r, a.buf)].refs != 1; i++)
		usleep(10000);
	EXPECT_EQ(UNIFIED_IO_BUF_APP, self->r.bt[bidx(&self->r, a.buf)].state);
	ASSERT_EQ(0, send_info(&self->r, &si));
	EXPECT_EQ(0U, si.inflight);
	EXPECT_EQ(0LL, ut_fdinfo(self->r.fd, "uring_sends_inflight"));
	/* One completion, no more. */
	expect_no_cqe(&self->ring, 200);
}

TEST_F(uexit, task_exit_send_completes_later)
{
	__shared_ring_send(_metadata, self, false);
}

TEST_F(uexit, exec_cancels_send)
{
	__shared_ring_send(_metadata, self, true);
}

/*
 * A ring torn down with a SEND in flight on a region whose fd is already
 * closed: io_uring cancels the command, which lets go of the region file
 * (the module's reference of the file goes at once, not when the peer
 * reads); the notification's own reference goes when the peer has read.
 */
TEST_F(uexit, ring_teardown_cancels_send)
{
	static __u8 sink[4L << 20];
	struct unified_io_desc d;
	struct ut_region r2;
	struct io_uring ring;
	long blocked;
	int base;
	__u64 b;

	base = module_refcnt();
	ASSERT_LT(0, base);
	if (!ut_region_create(&r2, 8, 16, BUF_SIZE, NR_BUFS * BUF_SIZE, 0))
		return;
	EXPECT_EQ(base + 1, module_refcnt());
	b = __sq_alloc(_metadata, &r2, OWNER);
	blocked = block_peer(self->s);
	ASSERT_LT(0, blocked);
	ASSERT_EQ(0, ring_init(&ring, RING_FLAGS));
	prep_send(&d, self->s, OWNER, b, 500, 0, 0);
	ASSERT_NE(NULL, prep_desc(&ring, r2.fd, &d, UD(0x1400)));
	ASSERT_EQ(1, io_uring_submit(&ring));
	/* The file, held by the command, and the notification. */
	EXPECT_EQ(base + 2, module_refcnt());
	ut_region_destroy(&r2);
	usleep(100000);
	EXPECT_EQ(base + 2, module_refcnt());

	io_uring_queue_exit(&ring);
	EXPECT_EQ(base + 1, refcnt_settles(base + 1, 10000));
	EXPECT_EQ((size_t)blocked + 500,
		  read_n(self->peer, sink, blocked + 500, WAIT_MS));
	EXPECT_EQ(base, refcnt_settles(base, 10000));
}

/*
 * An armed RECV on io_uring, cancelled by its ring's teardown (which takes
 * the region's lock under io_uring's), beside SENDs issued from io-wq
 * (which take io_uring's lock to become cancelable): the two orders must
 * agree (lockdep, on the debug kernel), and both complete.
 */
TEST_F(uexit, armed_recv_teardown_beside_async_send)
{
	static __u8 pbuf[4][4096], got[300];
	struct io_uring_buf_ring *br;
	struct unified_io_desc d;
	struct io_uring_sqe *sqe;
	struct io_uring ring2;
	int x, y, ret;
	__u64 b, end;
	struct ucqe c;

	b = __sq_alloc(_metadata, &self->r, OWNER);
	ASSERT_EQ(0, tcp_pair(0, &x, &y));
	ASSERT_EQ(0, ring_init(&ring2, RING_FLAGS));
	br = io_uring_setup_buf_ring(&ring2, 4, BGID, 0, &ret);
	ASSERT_NE(NULL, br) TH_LOG("provided buffer ring: %s", strerror(-ret));
	for (int i = 0; i < 4; i++)
		io_uring_buf_ring_add(br, pbuf[i], sizeof(pbuf[i]), i,
				      io_uring_buf_ring_mask(4), i);
	io_uring_buf_ring_advance(br, 4);

	/* Armed on y, which nobody writes to. */
	memset(&d, 0, sizeof(d));
	unio_prep_recv(&d, y, OTHER, 0, UNIFIED_IO_RECV_F_ARM, UD(0x1500));
	sqe = prep_desc(&ring2, self->r.fd, &d, UD(0x1500));
	ASSERT_NE(NULL, sqe);
	sqe->uring_cmd_flags = IORING_URING_CMD_MULTISHOT;
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	ASSERT_EQ(1, io_uring_submit(&ring2));
	end = ut_now_ns() + 5000000000ULL;
	while (ut_fdinfo(self->r.fd, "recv_armed") != 1 && ut_now_ns() < end)
		usleep(10000);
	ASSERT_EQ(1LL, ut_fdinfo(self->r.fd, "recv_armed"));

	/* SENDs from io-wq on the other pair. */
	for (int i = 0; i < 3; i++) {
		prep_send(&d, self->s, OWNER, b + 100 * i, 100, 0, 0);
		sqe = prep_desc(&self->ring, self->r.fd, &d, UD(0x1510 + i));
		ASSERT_NE(NULL, sqe);
		sqe->flags |= IOSQE_ASYNC;
	}
	ASSERT_EQ(3, io_uring_submit(&self->ring));
	ASSERT_EQ(300U, read_n(self->peer, got, 300, WAIT_MS));
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, reap(&self->ring, &c, WAIT_MS));
		EXPECT_EQ(100, c.res);
		EXPECT_EQ(F_NOTIF, UNIFIED_IO_URING_RES2_FLAGS(c.res2) & ~F_COPIED);
	}

	/* The ring goes: io_uring cancels the armed RECV. */
	io_uring_queue_exit(&ring2);
	end = ut_now_ns() + 10000000000ULL;
	while (ut_fdinfo(self->r.fd, "recv_armed") != 0 && ut_now_ns() < end)
		usleep(10000);
	EXPECT_EQ(0LL, ut_fdinfo(self->r.fd, "recv_armed"));
	close(x);
	close(y);
}

/*
 * The child makes its own region, ring and sockets, and exits with SENDs
 * in flight: everything goes, the module's references with it.
 */
TEST_F(uexit, child_owns_everything)
{
	struct child_arg a = { .region = -1, .s = -1, .sends = 4 };
	int base;

	/* Only ours: the fixture's region. */
	base = module_refcnt();
	ASSERT_LT(0, base);
	ASSERT_EQ(0, ut_in_child(child_main, &a));
	EXPECT_EQ(base, refcnt_settles(base, 30000));
}

/* --- urecv: the armed RECV on io_uring ------------------------------------ */

#define RX_BGID		9
#define RX_NR_PBUFS	16U	/* provided buffers of one record each */
#define RX_CQ		4U	/* CQ entries: a run of the arm overflows it */
#define RX_BYTES	(32U << 10)
#define RX_SEED		0x5eedULL
#define REC_SIZE	sizeof(struct unified_io_cqe)
#define F_MORE		((__u32)UNIFIED_IO_CQE_F_MORE)

/*
 * A region, a ring of RX_CQ CQEs, RX_NR_PBUFS provided buffers that hold
 * one record each (every chunk takes a CQE, so a run of the arm fills the
 * CQ: ENOSPC, and the record that did not fit is parked), and a TCP pair
 * whose sender writes a pattern the records are checked against, in order.
 */
FIXTURE(urecv) {
	struct ut_region r;
	struct io_uring ring;
	bool ring_ok;
	struct io_uring_buf_ring *br;
	struct unified_io_cqe pbuf[RX_NR_PBUFS];
	int snd, rcv;
	__u64 sent;		/* pattern bytes written */
	__u64 got;		/* pattern bytes checked, from records */
	unsigned int records;
};

FIXTURE_SETUP(urecv)
{
	struct io_uring_params p = {
		.flags = RING_FLAGS | IORING_SETUP_CQSIZE,
		.cq_entries = RX_CQ,
	};
	int ret;

	self->snd = self->rcv = -1;
	if (!common_setup())
		return;
	if (!(features(self->r.fd) & UNIFIED_IO_FEAT_RECV_ARM))
		SKIP(return, "no UNIFIED_IO_FEAT_RECV_ARM");
	io_uring_queue_exit(&self->ring);
	self->ring_ok = false;
	ret = io_uring_queue_init_params(RX_CQ, &self->ring, &p);
	ASSERT_EQ(0, ret) TH_LOG("io_uring_queue_init_params: %s", strerror(-ret));
	self->ring_ok = true;
	self->br = io_uring_setup_buf_ring(&self->ring, RX_NR_PBUFS, RX_BGID, 0,
					   &ret);
	ASSERT_NE(NULL, self->br) TH_LOG("provided buffer ring: %s", strerror(-ret));
	for (__u32 i = 0; i < RX_NR_PBUFS; i++)
		io_uring_buf_ring_add(self->br, &self->pbuf[i], REC_SIZE, i,
				      io_uring_buf_ring_mask(RX_NR_PBUFS), i);
	io_uring_buf_ring_advance(self->br, RX_NR_PBUFS);
	ret = tcp_pair(0, &self->snd, &self->rcv);
	ASSERT_EQ(0, ret) TH_LOG("TCP pair: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(urecv)
{
	if (self->snd >= 0)
		close(self->snd);
	if (self->rcv >= 0)
		close(self->rcv);
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	ut_region_destroy(&self->r);
}

/* Provided buffer @bid back to the ring. */
static void rx_pbuf_give(FIXTURE_DATA(urecv) *self, __u32 bid)
{
	io_uring_buf_ring_add(self->br, &self->pbuf[bid], REC_SIZE, bid,
			      io_uring_buf_ring_mask(RX_NR_PBUFS), 0);
	io_uring_buf_ring_advance(self->br, 1);
}

/* Write @len more pattern bytes, and wait until @rcv has them all queued. */
static void __rx_send(struct __test_metadata *_metadata,
		      FIXTURE_DATA(urecv) *self, __u32 len)
{
	static __u8 buf[RX_BYTES];
	__u64 end = ut_now_ns() + WAIT_MS * 1000000ULL;
	int queued = -1;

	ASSERT_GE(sizeof(buf), len);
	for (__u32 i = 0; i < len; i++)
		buf[i] = ut_pattern(RX_SEED, self->sent + i);
	ASSERT_EQ((ssize_t)len, send(self->snd, buf, len, MSG_NOSIGNAL));
	self->sent += len;
	while (ut_now_ns() < end) {
		ASSERT_EQ(0, ioctl(self->rcv, FIONREAD, &queued));
		if ((__u64)queued >= self->sent - self->got)
			break;
		usleep(1000);
	}
	ASSERT_LE(len, (__u32)queued);
}

#define rx_send(len)	__rx_send(_metadata, self, len)

/* An armed RECV on @fd, records to provided buffer group @bgid. */
static struct io_uring_sqe *rx_prep_arm(FIXTURE_DATA(urecv) *self, int fd,
					__u16 owner, __u16 bgid, __u64 ud,
					__u64 sqe_ud)
{
	struct unified_io_desc d = {};
	struct io_uring_sqe *sqe;

	unio_prep_recv(&d, fd, owner, 0, UNIFIED_IO_RECV_F_ARM, ud);
	sqe = prep_desc(&self->ring, self->r.fd, &d, sqe_ud);
	if (sqe) {
		sqe->uring_cmd_flags = IORING_URING_CMD_MULTISHOT;
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = bgid;
	}
	return sqe;
}

/*
 * A CQE of an armed RECV with IORING_CQE_F_MORE: its records, each the
 * next bytes of the pattern in a region buffer, which goes back (FREE);
 * then the provided buffer goes back.  @ud: the records' user_data.
 */
static void __rx_records(struct __test_metadata *_metadata,
			 FIXTURE_DATA(urecv) *self, const struct ucqe *c,
			 __u64 ud)
{
	__u32 bid = c->flags >> IORING_CQE_BUFFER_SHIFT;
	struct unified_io_cqe rec;

	ASSERT_NE(0U, c->flags & IORING_CQE_F_BUFFER);
	ASSERT_GT(RX_NR_PBUFS, bid);
	/* One record per provided buffer. */
	ASSERT_EQ((int)REC_SIZE, c->res);
	memcpy(&rec, &self->pbuf[bid], sizeof(rec));
	/* Parked records too carry the RECV's that delivers them. */
	EXPECT_EQ(ud, rec.user_data);
	EXPECT_EQ(UNIFIED_IO_OP_RECV, rec.opcode);
	EXPECT_EQ(F_MORE | F_COPIED, rec.flags);
	ASSERT_LT(0, rec.res);
	ASSERT_GE((int)BUF_SIZE, rec.res);
	ASSERT_GT(self->r.l.data_size, rec.addr);
	for (int i = 0; i < rec.res; i++) {
		__u8 want = ut_pattern(RX_SEED, self->got + i);

		ASSERT_EQ(want, bufp(&self->r, rec.addr)[i])
			TH_LOG("stream byte %llu (record %u) out of order",
			       (unsigned long long)self->got + i, self->records);
	}
	self->got += rec.res;
	self->records++;
	EXPECT_EQ(0, ut_free(&self->r, OWNER, rec.addr));
	rx_pbuf_give(self, bid);
}

#define rx_records(c, ud)	__rx_records(_metadata, self, c, ud)

/*
 * Reap the armed RECV submitted as @sqe_ud to its final CQE, taking its
 * records (@ud); returns the final res (*res2 its big_cqe[0]), or -12345
 * if none came.
 */
static int __rx_final(struct __test_metadata *_metadata,
		      FIXTURE_DATA(urecv) *self, __u64 sqe_ud, __u64 ud,
		      __u64 *res2)
{
	struct ucqe c;
	int ret;

	for (;;) {
		ret = reap(&self->ring, &c, WAIT_MS);
		EXPECT_EQ(0, ret) TH_LOG("no final CQE: %s", strerror(-ret));
		if (ret)
			return -12345;
		EXPECT_EQ(sqe_ud, c.user_data);
		if (!(c.flags & IORING_CQE_F_MORE))
			break;
		rx_records(&c, ud);
	}
	if (res2)
		*res2 = c.res2;
	return c.res;
}

#define rx_final(sqe_ud, ud, res2)	__rx_final(_metadata, self, sqe_ud, ud, res2)

/*
 * The provided buffer io_uring took for the batch it could not post, as
 * the ENOSPC final CQE names it (UNIFIED_IO_CQE_F_BUFFER and its bid),
 * back to the ring; returns the bid.
 */
static __u32 __rx_lost_give(struct __test_metadata *_metadata,
			    FIXTURE_DATA(urecv) *self, __u64 res2)
{
	__u64 bid = UNIFIED_IO_URING_RES2_ADDR(res2);

	EXPECT_EQ(F_BUFFER, UNIFIED_IO_URING_RES2_FLAGS(res2));
	EXPECT_GT(RX_NR_PBUFS, bid);
	if (bid < RX_NR_PBUFS)
		rx_pbuf_give(self, bid);
	return bid;
}

#define rx_lost_give(res2)	__rx_lost_give(_metadata, self, res2)

/*
 * Arm with RX_BYTES queued: the first RX_CQ records fill the CQ and the
 * next one is parked (ENOSPC); its bytes have left the socket.
 */
static void __rx_park(struct __test_metadata *_metadata,
		      FIXTURE_DATA(urecv) *self, __u64 ud)
{
	__u64 res2 = 0;

	rx_send(RX_BYTES);
	ASSERT_NE(NULL, rx_prep_arm(self, self->rcv, OWNER, RX_BGID, ud, ud));
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(-ENOSPC, rx_final(ud, ud, &res2));
	EXPECT_EQ(RX_CQ, self->records);
	/*
	 * io_uring took the buffers in ring order: the first RX_CQ carry
	 * records, the next one was taken for the record it could not post.
	 */
	EXPECT_EQ(RX_CQ, rx_lost_give(res2));
	/* fdinfo: not armed any more, parked. */
	EXPECT_EQ(0LL, ut_fdinfo(self->r.fd, "recv_armed"));
	EXPECT_EQ(1LL, ut_fdinfo(self->r.fd, "recv_parked"));
}

#define rx_park(ud)	__rx_park(_metadata, self, ud)

/*
 * Arm again after each ENOSPC (and ENOBUFS) until the final 0 of the
 * peer's FIN, first on @ud: the whole stream, in order, and every region
 * buffer back.
 */
static void __rx_to_end(struct __test_metadata *_metadata,
			FIXTURE_DATA(urecv) *self, __u64 ud)
{
	struct unified_io_info info;
	__u64 res2;
	int res = -12345;

	ASSERT_EQ(0, shutdown(self->snd, SHUT_WR));
	for (int n = 0; n < 1000 && res; n++, ud++) {
		ASSERT_NE(NULL, rx_prep_arm(self, self->rcv, OWNER, RX_BGID,
					    ud, ud));
		ASSERT_EQ(1, io_uring_submit(&self->ring));
		res2 = 0;
		res = rx_final(ud, ud, &res2);
		if (res == -ENOSPC)
			rx_lost_give(res2);
		else if (res)
			ASSERT_EQ(-ENOBUFS, res);
	}
	EXPECT_EQ(0, res);
	EXPECT_EQ(self->sent, self->got);
	ASSERT_EQ(0, ut_region_info(&self->r, &info));
	EXPECT_EQ(NR_BUFS, info.stats.bufs_free);
}

#define rx_to_end(ud)	__rx_to_end(_metadata, self, ud)

/*
 * A re-arm that takes over parked records, a CANCEL and another RECV in
 * one io_uring_submit(), all issued before any task work runs: the CANCEL
 * stops the re-arm before its first run, which parks the records again,
 * so the second RECV must not read the socket (EBUSY) ahead of them.  The
 * stream then arrives whole and in order.
 */
TEST_F_TIMEOUT(urecv, rearm_cancel_recv_one_submit, 120)
{
	const __u64 a = UD(0x1601), b = UD(0x1602), c3 = UD(0x1603);
	struct unified_io_desc d = {};
	bool fa = false, fb = false, fc = false;
	struct ucqe c;

	rx_park(UD(0x1600));

	/*
	 * The parked records' buffers are OWNER's: another owner cannot
	 * take them over, and they stay parked.
	 */
	ASSERT_NE(NULL, rx_prep_arm(self, self->rcv, OTHER, RX_BGID,
				    UD(0x1604), UD(0x1604)));
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	EXPECT_EQ(-EBUSY, rx_final(UD(0x1604), UD(0x1604), NULL));

	ASSERT_NE(NULL, rx_prep_arm(self, self->rcv, OWNER, RX_BGID, a, a));
	unio_prep_cancel(&d, self->rcv, b);
	ASSERT_NE(NULL, prep_desc(&self->ring, self->r.fd, &d, b));
	ASSERT_NE(NULL, rx_prep_arm(self, self->rcv, OWNER, RX_BGID, c3, c3));
	ASSERT_EQ(3, io_uring_submit(&self->ring));
	while (!(fa && fb && fc)) {
		ASSERT_EQ(0, reap(&self->ring, &c, WAIT_MS));
		if (c.user_data == a && c.flags & IORING_CQE_F_MORE) {
			/* Its records, before any other byte. */
			rx_records(&c, a);
		} else if (c.user_data == a) {
			EXPECT_EQ(-ECANCELED, c.res);
			fa = true;
		} else if (c.user_data == b) {
			EXPECT_EQ(1, c.res);
			fb = true;
		} else {
			ASSERT_EQ(c3, c.user_data);
			/* No second arm on the socket: its records wait. */
			ASSERT_EQ(0U, c.flags & IORING_CQE_F_MORE);
			EXPECT_EQ(-EBUSY, c.res);
			fc = true;
		}
	}
	rx_to_end(UD(0x1610));
}

/*
 * CANCEL of a parked arm drops its records and gives back the region
 * buffer each holds: every buffer is free again, and no arm is left.
 */
TEST_F_TIMEOUT(urecv, cancel_parked_frees_buffers, 120)
{
	struct unified_io_info info;
	struct unified_io_desc d = {};
	__u32 held = 0;
	int queued = -1;

	rx_park(UD(0x1700));
	/* The records taken were freed: the parked one holds a buffer. */
	ASSERT_EQ(0, ut_region_info(&self->r, &info));
	EXPECT_EQ(NR_BUFS - 1, info.stats.bufs_free);
	EXPECT_EQ(1U, info.stats.bufs_app);

	unio_prep_cancel(&d, self->rcv, UD(0x1701));
	EXPECT_EQ(1, ucmd(&self->ring, self->r.fd, &d, NULL));
	ASSERT_EQ(0, ut_region_info(&self->r, &info));
	EXPECT_EQ(NR_BUFS, info.stats.bufs_free);
	EXPECT_EQ(0U, info.stats.bufs_app);
	for (__u32 i = 0; i < self->r.l.nr_bufs; i++)
		held += self->r.bt[i].state != UNIFIED_IO_BUF_FREE;
	EXPECT_EQ(0U, held);
	/* Nothing left to cancel. */
	EXPECT_EQ(-ENOENT, ucmd(&self->ring, self->r.fd, &d, NULL));
	EXPECT_EQ(0LL, ut_fdinfo(self->r.fd, "recv_parked"));

	/*
	 * The dropped record's bytes are gone; a new arm goes on right
	 * after them, to the end.
	 */
	ASSERT_EQ(0, ioctl(self->rcv, FIONREAD, &queued));
	ASSERT_LT(self->got + queued, self->sent);
	self->got = self->sent - queued;
	rx_to_end(UD(0x1710));
}

/* Arm @fd on a provided buffer group that has no buffer: its final res. */
static int __rx_nobuf(struct __test_metadata *_metadata,
		      FIXTURE_DATA(urecv) *self, int fd, __u64 ud)
{
	ASSERT_NE(NULL, rx_prep_arm(self, fd, OWNER, RX_BGID + 1, ud, ud));
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	return rx_final(ud, ud, NULL);
}

#define rx_nobuf(fd, ud)	__rx_nobuf(_metadata, self, fd, ud)

/*
 * No provided buffer left: the peer's FIN still ends the RECV with 0, and
 * urgent data with EPROTO (neither delivers a byte); bytes waiting give
 * ENOBUFS and stay on the socket.
 */
TEST_F_TIMEOUT(urecv, no_provided_buffer, 120)
{
	struct io_uring_buf_ring *empty;
	int snd2 = -1, rcv2 = -1, queued = -1, ret;
	char bytes[100];
	struct ucqe c;

	empty = io_uring_setup_buf_ring(&self->ring, 4, RX_BGID + 1, 0, &ret);
	ASSERT_NE(NULL, empty) TH_LOG("provided buffer ring: %s", strerror(-ret));

	/* Armed with nothing queued; then the FIN. */
	ASSERT_NE(NULL, rx_prep_arm(self, self->rcv, OWNER, RX_BGID + 1,
				    UD(0x1800), UD(0x1800)));
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	EXPECT_EQ(-ETIME, reap(&self->ring, &c, 200));
	EXPECT_EQ(1LL, ut_fdinfo(self->r.fd, "recv_armed"));
	EXPECT_EQ(0LL, ut_fdinfo(self->r.fd, "recv_parked"));
	ASSERT_EQ(0, shutdown(self->snd, SHUT_WR));
	EXPECT_EQ(0, rx_final(UD(0x1800), UD(0x1800), NULL));

	/* Bytes queued: ENOBUFS, and they stay. */
	ASSERT_EQ(0, tcp_pair(0, &snd2, &rcv2));
	memset(bytes, 'x', sizeof(bytes));
	ASSERT_EQ(100, send(snd2, bytes, sizeof(bytes), 0));
	usleep(100000);
	EXPECT_EQ(-ENOBUFS, rx_nobuf(rcv2, UD(0x1801)));
	ASSERT_EQ(0, ioctl(rcv2, FIONREAD, &queued));
	EXPECT_EQ(100, queued);
	close(snd2);
	close(rcv2);

	/* Urgent data first in the queue: EPROTO. */
	ASSERT_EQ(0, tcp_pair(0, &snd2, &rcv2));
	ASSERT_EQ(1, send(snd2, "!", 1, MSG_OOB));
	usleep(100000);
	EXPECT_EQ(-EPROTO, rx_nobuf(rcv2, UD(0x1802)));
	close(snd2);
	close(rcv2);
	io_uring_free_buf_ring(&self->ring, empty, 4, RX_BGID + 1);
}

TEST_HARNESS_MAIN
