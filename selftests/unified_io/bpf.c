// SPDX-License-Identifier: GPL-2.0
/*
 * BPF chains, kernel side: UNIFIED_IO_ATTACH_BPF / DETACH_BPF with every
 * documented errno, the chain in GET_INFO, UNIFIED_IO_OP_BPF verdicts and
 * results, the metadata a program sees, per-program counters, hostile BPF
 * descriptors (refused without running anything), the verifier's bounds on
 * data and metadata, attach/detach while descriptors run, the programs'
 * lifetime when the region goes away, and fork().
 *
 * The XDP programs are in progs/ (*.bpf.c), built like bpf/ builds its own and
 * embedded as bpftool skeletons; each test loads only the programs it needs
 * beyond the fixture's set. Needs root (CAP_BPF or CAP_SYS_ADMIN; the
 * programs' ids are looked up with CAP_SYS_ADMIN).
 */
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ut.h"
#include "ut_xdp.skel.h"
#include "ut_xdp_bad.skel.h"

#define SQ	8
#define CQ	16
#define BUF	4096
#define NBUFS	16
#define OWNER	0x77
#define POISON_ID	0xccccccccU

#define DROP_FLAGS(i)	(UNIFIED_IO_CQE_F_BPF_DROP | \
			 (__u32)(i) << UNIFIED_IO_CQE_BPF_PROG_SHIFT)

/* libbpf's own messages: warnings only, none while a failure is expected. */
static bool libbpf_quiet;

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level != LIBBPF_WARN || libbpf_quiet)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void __attribute__((constructor)) bpf_test_init(void)
{
	libbpf_set_print(libbpf_print);
}

/* --- ioctl helpers ---------------------------------------------------- */

static int bpf_ioctl(int fd, unsigned long cmd, __s32 prog_fd, __u32 prog_id,
		     __u32 *id_out)
{
	struct unified_io_bpf p;
	int ret;

	memset(&p, 0xcc, sizeof(p));
	p.size = sizeof(p);
	p.flags = 0;
	p.prog_fd = prog_fd;
	p.prog_id = prog_id;
	p.resv[0] = p.resv[1] = 0;
	ret = ut_ioctl(fd, cmd, &p);
	if (id_out)
		*id_out = p.prog_id;
	return ret;
}

/* ATTACH; *id (if given) gets prog_id, POISON_ID when it was not written. */
static int attach(int fd, int prog_fd, __u32 *id)
{
	return bpf_ioctl(fd, UNIFIED_IO_ATTACH_BPF, prog_fd, POISON_ID, id);
}

static int detach_fd(int fd, int prog_fd, __u32 *id)
{
	return bpf_ioctl(fd, UNIFIED_IO_DETACH_BPF, prog_fd, 0, id);
}

static int detach_id(int fd, __u32 prog_id, __u32 *id)
{
	return bpf_ioctl(fd, UNIFIED_IO_DETACH_BPF, -1, prog_id, id);
}

static __u32 prog_id_of(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_prog_get_info_by_fd(prog_fd, &info, &len))
		return 0;
	return info.id;
}

/* Whether a program with @id still exists (takes and drops a reference). */
static int prog_id_alive(__u32 id)
{
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void bpf_desc(struct unified_io_desc *d, __u16 owner, __u64 off,
		     __u32 len, __u64 user_data)
{
	memset(d, 0, sizeof(*d));
	d->opcode = UNIFIED_IO_OP_BPF;
	d->owner = owner;
	d->addr = off;
	d->len = len;
	d->user_data = user_data;
}

/* Run the chain over [off, off + len) through the SQ; returns res. */
static int __run_bpf(struct __test_metadata *_metadata, struct ut_region *r,
		     __u16 owner, __u64 off, __u32 len,
		     struct unified_io_cqe *cqe)
{
	struct unified_io_desc d;

	bpf_desc(&d, owner, off, len, 0xb0f0000000000000ULL | off << 16 | len);
	return ut_do(r, &d, cqe);
}

#define run_bpf(r, owner, off, len, cqe) \
	__run_bpf(_metadata, r, owner, off, len, cqe)

static void __get_info(struct __test_metadata *_metadata, int fd,
		       struct unified_io_info *info)
{
	ASSERT_EQ(0, ut_get_info(fd, info));
}

#define get_info(fd, info)	__get_info(_metadata, fd, info)

/* GET_INFO lists exactly @ids, in order; the rest of the table is zero. */
static void __check_chain(struct __test_metadata *_metadata, int fd,
			  const __u32 *ids, __u32 nr)
{
	struct unified_io_info info;
	static const struct unified_io_bpf_prog_info zero;

	get_info(fd, &info);
	ASSERT_EQ(nr, info.nr_bpf_progs);
	EXPECT_EQ(0U, info.resv);
	for (__u32 i = 0; i < nr; i++) {
		EXPECT_EQ(ids[i], info.bpf_progs[i].prog_id) TH_LOG("chain[%u]", i);
		EXPECT_EQ(0U, info.bpf_progs[i].resv);
	}
	for (__u32 i = nr; i < UNIFIED_IO_BPF_MAX_PROGS; i++) {
		EXPECT_EQ(0, memcmp(&zero, &info.bpf_progs[i], sizeof(zero)))
			TH_LOG("bpf_progs[%u] past the chain is not zero", i);
	}
}

#define check_chain(fd, ...) do {					\
	const __u32 __ids[] = { 0, ##__VA_ARGS__ };			\
	__check_chain(_metadata, fd, __ids + 1, UT_ARRAY_SIZE(__ids) - 1); \
} while (0)

struct counters {
	__u64 runs, bytes, pass, drop, aborted, other;
};

static void __check_counters(struct __test_metadata *_metadata,
			     const struct unified_io_bpf_prog_info *p,
			     const struct counters *c, const char *what)
{
	EXPECT_EQ(c->runs, p->runs) TH_LOG("%s", what);
	EXPECT_EQ(c->bytes, p->bytes) TH_LOG("%s", what);
	EXPECT_EQ(c->pass, p->pass) TH_LOG("%s", what);
	EXPECT_EQ(c->drop, p->drop) TH_LOG("%s", what);
	EXPECT_EQ(c->aborted, p->aborted) TH_LOG("%s", what);
	EXPECT_EQ(c->other, p->other) TH_LOG("%s", what);
	if (c->runs) {
		EXPECT_LT(0ULL, p->run_ns) TH_LOG("%s", what);
	} else {
		EXPECT_EQ(0ULL, p->run_ns) TH_LOG("%s", what);
	}
}

#define check_counters(p, c, what) __check_counters(_metadata, p, c, what)

/* --- skeletons -------------------------------------------------------- */

/*
 * Open ut_xdp.bpf.o with autoload as @keep says (NULL: everything but the
 * device-bound program, which needs an ifindex) and load it. Returns the
 * libbpf error; *out is NULL unless it loaded.
 */
static int xdp_load(struct ut_xdp_bpf **out, bool (*keep)(const char *name),
		    void (*tweak)(struct bpf_program *prog, void *arg),
		    void *arg)
{
	struct ut_xdp_bpf *skel;
	struct bpf_program *prog;
	int ret;

	*out = NULL;
	skel = ut_xdp_bpf__open();
	if (!skel)
		return -errno;
	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);

		bpf_program__set_autoload(prog, keep ? keep(name) :
					  strcmp(name, "ut_devbound") != 0);
		if (tweak && bpf_program__autoload(prog))
			tweak(prog, arg);
	}
	ret = ut_xdp_bpf__load(skel);
	if (ret) {
		ut_xdp_bpf__destroy(skel);
		return ret;
	}
	skel->bss->ctl_verdict = XDP_PASS;
	*out = skel;
	return 0;
}

/*
 * Setup of the fixtures with a region and the XDP skeleton: create @r, SKIP
 * without UNIFIED_IO_FEAT_BPF or CAP_SYS_ADMIN, load ut_xdp.bpf.o into
 * *@skel (NULL until then, for the teardown). Returns false after SKIP;
 * asserts on any other failure.
 */
static bool __xdp_fixture_setup(struct __test_metadata *_metadata,
				struct ut_region *r, struct ut_xdp_bpf **skel,
				__u32 buf_size, __u64 data_size, __u32 flags)
{
	struct unified_io_info info;
	int ret;

	*skel = NULL;
	r->fd = -1;
	if (!ut_region_create(r, SQ, CQ, buf_size, data_size, flags))
		return false;
	get_info(r->fd, &info);
	if (!(info.config.features & UNIFIED_IO_FEAT_BPF))
		SKIP(return false, "no UNIFIED_IO_FEAT_BPF");
	if (!ut_has_cap(CAP_SYS_ADMIN))
		SKIP(return false, "needs CAP_SYS_ADMIN");
	ret = xdp_load(skel, NULL, NULL, NULL);
	ASSERT_EQ(0, ret) TH_LOG("loading ut_xdp.bpf.o: %s", strerror(-ret));
	return true;
}

#define xdp_fixture_setup(r, skel, bs, ds, fl)				\
	__xdp_fixture_setup(_metadata, r, skel, bs, ds, fl)

#define PFD(skel, name)	bpf_program__fd((skel)->progs.name)

static bool ut_has_bpf_caps(void)
{
	return ut_has_cap(CAP_BPF) || ut_has_cap(CAP_SYS_ADMIN);
}

FIXTURE(bpf) {
	struct ut_region r;
	struct ut_xdp_bpf *skel;
	__u64 off;		/* a buffer owned by OWNER */
	__u8 *buf;		/* its bytes */
};

FIXTURE_SETUP(bpf)
{
	if (!xdp_fixture_setup(&self->r, &self->skel, BUF, NBUFS * BUF, 0))
		return;
	ASSERT_EQ(BUF, ut_alloc(&self->r, OWNER, &self->off));
	self->buf = unio_data_ptr(&self->r.q, self->off);
}

FIXTURE_TEARDOWN(bpf)
{
	ut_region_destroy(&self->r);
	if (self->skel)
		ut_xdp_bpf__destroy(self->skel);
}

/* --- attach and detach ------------------------------------------------ */

TEST_F(bpf, attach_ids_and_chain_order)
{
	int fd = self->r.fd;
	int fds[] = { PFD(self->skel, ut_chain3), PFD(self->skel, ut_pass),
		      PFD(self->skel, ut_chain1), PFD(self->skel, ut_ctl) };
	__u32 ids[4], id;

	check_chain(fd);
	for (int i = 0; i < 4; i++) {
		ids[i] = prog_id_of(fds[i]);
		ASSERT_NE(0U, ids[i]);
		ASSERT_EQ(0, attach(fd, fds[i], &id));
		EXPECT_EQ(ids[i], id) TH_LOG("attach #%d", i);
		__check_chain(_metadata, fd, ids, i + 1);
	}
	/* Ids are distinct programs. */
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			EXPECT_NE(ids[i], ids[j]);
}

TEST_F(bpf, detach_by_id_and_by_fd)
{
	int fd = self->r.fd;
	int a = PFD(self->skel, ut_chain0), b = PFD(self->skel, ut_chain1);
	int c = PFD(self->skel, ut_chain2);
	__u32 ia = prog_id_of(a), ib = prog_id_of(b), ic = prog_id_of(c), id;
	struct unified_io_cqe cqe;

	ASSERT_EQ(0, attach(fd, a, NULL));
	ASSERT_EQ(0, attach(fd, b, NULL));
	ASSERT_EQ(0, attach(fd, c, NULL));
	check_chain(fd, ia, ib, ic);

	/* From the middle, by id: the output is the id. */
	ASSERT_EQ(0, detach_id(fd, ib, &id));
	EXPECT_EQ(ib, id);
	check_chain(fd, ia, ic);

	/* The rest still run, in order. */
	memset(self->buf, 0, 64);
	ASSERT_EQ(64, run_bpf(&self->r, OWNER, self->off, 64, &cqe));
	EXPECT_EQ(0U, cqe.flags);
	EXPECT_EQ(2, self->buf[0]);
	EXPECT_EQ(0, self->buf[1]);
	EXPECT_EQ(2, self->buf[2]);

	/* From the front, by fd: the output is the program's id. */
	ASSERT_EQ(0, detach_fd(fd, a, &id));
	EXPECT_EQ(ia, id);
	check_chain(fd, ic);

	/* The last one. */
	ASSERT_EQ(0, detach_fd(fd, c, &id));
	EXPECT_EQ(ic, id);
	check_chain(fd);
	EXPECT_EQ(-ENOENT, run_bpf(&self->r, OWNER, self->off, 64, &cqe));

	/* And again: a detached program can come back, at the end. */
	ASSERT_EQ(0, attach(fd, c, &id));
	ASSERT_EQ(0, attach(fd, a, &id));
	check_chain(fd, ic, ia);
}

TEST_F(bpf, detach_missing_is_enoent)
{
	int fd = self->r.fd;
	int a = PFD(self->skel, ut_pass), b = PFD(self->skel, ut_drop);
	__u32 ia = prog_id_of(a), ib = prog_id_of(b), id;

	/* Empty chain. */
	EXPECT_EQ(-ENOENT, detach_fd(fd, a, NULL));
	EXPECT_EQ(-ENOENT, detach_id(fd, ia, NULL));

	ASSERT_EQ(0, attach(fd, a, NULL));
	/* Loaded but not attached, by fd and by id. */
	id = POISON_ID;
	EXPECT_EQ(-ENOENT, detach_fd(fd, b, &id));
	EXPECT_EQ(0U, id);	/* output not written on failure */
	EXPECT_EQ(-ENOENT, detach_id(fd, ib, NULL));
	/* No such program at all. */
	EXPECT_EQ(-ENOENT, detach_id(fd, 0x7ffffff0, NULL));
	EXPECT_EQ(-ENOENT, detach_id(fd, 0xffffffff, NULL));
	check_chain(fd, ia);

	/* Twice. */
	ASSERT_EQ(0, detach_id(fd, ia, NULL));
	EXPECT_EQ(-ENOENT, detach_id(fd, ia, NULL));
	EXPECT_EQ(-ENOENT, detach_fd(fd, a, NULL));
	check_chain(fd);
}

TEST_F(bpf, detach_needs_exactly_one_of_fd_and_id)
{
	int fd = self->r.fd;
	int a = PFD(self->skel, ut_pass);
	__u32 ia = prog_id_of(a);

	ASSERT_EQ(0, attach(fd, a, NULL));
	/* Both, even when they agree. */
	EXPECT_EQ(-EINVAL, bpf_ioctl(fd, UNIFIED_IO_DETACH_BPF, a, ia, NULL));
	EXPECT_EQ(-EINVAL, bpf_ioctl(fd, UNIFIED_IO_DETACH_BPF, a, ia + 1, NULL));
	/* Neither. */
	EXPECT_EQ(-EINVAL, bpf_ioctl(fd, UNIFIED_IO_DETACH_BPF, -1, 0, NULL));
	check_chain(fd, ia);
}

TEST_F(bpf, flags_and_resv_must_be_zero)
{
	int fd = self->r.fd;
	int a = PFD(self->skel, ut_pass);
	__u32 ia = prog_id_of(a);
	struct {
		__u32 flags;
		__u64 resv0, resv1;
	} cases[] = {
		{ 1, 0, 0 }, { 0x80000000u, 0, 0 }, { ~0u, 0, 0 },
		{ 0, 1, 0 }, { 0, 1ULL << 63, 0 }, { 0, 0, 1 },
		{ 0, 0, 1ULL << 63 },
	};

	for (size_t i = 0; i < UT_ARRAY_SIZE(cases); i++) {
		struct unified_io_bpf p = {
			.size = sizeof(p), .flags = cases[i].flags,
			.prog_fd = a, .prog_id = POISON_ID,
			.resv = { cases[i].resv0, cases[i].resv1 },
		};

		EXPECT_EQ(-EINVAL, ut_ioctl(fd, UNIFIED_IO_ATTACH_BPF, &p))
			TH_LOG("attach case %zu", i);
		EXPECT_EQ(POISON_ID, p.prog_id);
		check_chain(fd);
	}
	ASSERT_EQ(0, attach(fd, a, NULL));
	for (size_t i = 0; i < UT_ARRAY_SIZE(cases); i++) {
		struct unified_io_bpf p = {
			.size = sizeof(p), .flags = cases[i].flags,
			.prog_fd = -1, .prog_id = ia,
			.resv = { cases[i].resv0, cases[i].resv1 },
		};

		EXPECT_EQ(-EINVAL, ut_ioctl(fd, UNIFIED_IO_DETACH_BPF, &p))
			TH_LOG("detach by id case %zu", i);
		p.prog_fd = a;
		p.prog_id = 0;
		EXPECT_EQ(-EINVAL, ut_ioctl(fd, UNIFIED_IO_DETACH_BPF, &p))
			TH_LOG("detach by fd case %zu", i);
		check_chain(fd, ia);
	}
}

/* TEST_LENGTH style: too small, one extra non-zero byte, one extra zero. */
TEST_F(bpf, argument_length)
{
	int fd = self->r.fd;
	int a = PFD(self->skel, ut_pass);
	__u32 ia = prog_id_of(a);
	struct {
		struct unified_io_bpf p;
		__u8 extra[8];
	} big;

	for (__u32 sz = 0; sz < sizeof(struct unified_io_bpf); sz += 4) {
		struct unified_io_bpf p = { .size = sz, .prog_fd = a };

		EXPECT_EQ(-EINVAL, ut_ioctl(fd, UNIFIED_IO_ATTACH_BPF, &p))
			TH_LOG("size %u", sz);
	}
	check_chain(fd);

	memset(&big, 0, sizeof(big));
	big.p.size = sizeof(big.p) + 1;
	big.p.prog_fd = a;
	big.extra[0] = 1;
	EXPECT_EQ(-E2BIG, ut_ioctl(fd, UNIFIED_IO_ATTACH_BPF, &big));
	check_chain(fd);

	big.extra[0] = 0;
	big.p.prog_id = POISON_ID;
	memset(&big.extra[1], 0xcc, sizeof(big.extra) - 1);
	EXPECT_EQ(0, ut_ioctl(fd, UNIFIED_IO_ATTACH_BPF, &big));
	EXPECT_EQ(ia, big.p.prog_id);
	/* Written back for the kernel's size only. */
	EXPECT_EQ(0, big.extra[0]);
	EXPECT_EQ(0xcc, big.extra[1]);
	check_chain(fd, ia);

	big.p.prog_fd = -1;
	big.p.prog_id = ia;
	big.extra[0] = 1;
	EXPECT_EQ(-E2BIG, ut_ioctl(fd, UNIFIED_IO_DETACH_BPF, &big));
	big.extra[0] = 0;
	EXPECT_EQ(0, ut_ioctl(fd, UNIFIED_IO_DETACH_BPF, &big));
	check_chain(fd);
}

TEST(before_setup_is_ebadfd)
{
	struct unified_io_info info;
	struct ut_xdp_bpf *skel;
	int fd, ret;

	UT_OPEN(fd);
	if (!ut_has_cap(CAP_SYS_ADMIN))
		SKIP(goto out, "needs CAP_SYS_ADMIN");
	ret = xdp_load(&skel, NULL, NULL, NULL);
	ASSERT_EQ(0, ret) TH_LOG("loading ut_xdp.bpf.o: %s", strerror(-ret));
	EXPECT_EQ(-EBADFD, attach(fd, PFD(skel, ut_pass), NULL));
	EXPECT_EQ(-EBADFD, detach_fd(fd, PFD(skel, ut_pass), NULL));
	EXPECT_EQ(-EBADFD, detach_id(fd, prog_id_of(PFD(skel, ut_pass)), NULL));
	ASSERT_EQ(0, ut_get_info(fd, &info));
	EXPECT_EQ(0U, info.nr_bpf_progs);
	ut_xdp_bpf__destroy(skel);
out:
	close(fd);
}

/* --- refused attaches ------------------------------------------------- */

TEST_F(bpf, attach_closed_fd_is_ebadf)
{
	int fd = self->r.fd;
	int nr = dup(PFD(self->skel, ut_pass));

	ASSERT_LE(0, nr);
	ASSERT_EQ(0, close(nr));
	EXPECT_EQ(-EBADF, attach(fd, nr, NULL));
	EXPECT_EQ(-EBADF, detach_fd(fd, nr, NULL));
	EXPECT_EQ(-EBADF, attach(fd, 100000, NULL));
	EXPECT_EQ(-EBADF, attach(fd, -1, NULL));
	EXPECT_EQ(-EBADF, attach(fd, INT32_MIN, NULL));
	check_chain(fd);
}

TEST_F(bpf, attach_non_bpf_fd_is_einval)
{
	int fd = self->r.fd;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-EINVAL, attach(fd, p[0], NULL));
	EXPECT_EQ(-EINVAL, attach(fd, p[1], NULL));
	EXPECT_EQ(-EINVAL, detach_fd(fd, p[0], NULL));
	/* The region's own fd. */
	EXPECT_EQ(-EINVAL, attach(fd, fd, NULL));
	close(p[0]);
	close(p[1]);
	check_chain(fd);
}

TEST_F(bpf, attach_other_prog_type_is_einval)
{
	int fd = self->r.fd;
	int sock = PFD(self->skel, ut_socket), tp = PFD(self->skel, ut_tracepoint);

	ASSERT_LE(0, sock);
	ASSERT_LE(0, tp);
	EXPECT_EQ(-EINVAL, attach(fd, sock, NULL));
	EXPECT_EQ(-EINVAL, attach(fd, tp, NULL));
	EXPECT_EQ(-EINVAL, detach_fd(fd, sock, NULL));
	EXPECT_EQ(-ENOENT, detach_id(fd, prog_id_of(sock), NULL));
	check_chain(fd);
}

static bool keep_devbound(const char *name)
{
	return !strcmp(name, "ut_devbound");
}

static void bind_to_dev(struct bpf_program *prog, void *arg)
{
	bpf_program__set_ifindex(prog, *(int *)arg);
	bpf_program__set_flags(prog, bpf_program__flags(prog) |
				     BPF_F_XDP_DEV_BOUND_ONLY);
}

/*
 * In a child, in a new network namespace: a veth device (lo has no ndo_bpf,
 * so nothing can be bound to it), a program bound to it, ATTACH.
 * Exit 0: ENODEV; 1: another result; 2: no veth; 3: the load failed.
 */
static int devbound_on_veth(void *arg)
{
	int fd = *(int *)arg, ifindex, ret;
	struct ut_xdp_bpf *skel;

	if (unshare(CLONE_NEWNET))
		return 2;
	if (system("ip link add uniot0 type veth peer name uniot1 >/dev/null 2>&1"))
		return 2;
	ifindex = if_nametoindex("uniot0");
	if (!ifindex)
		return 2;
	libbpf_quiet = true;
	if (xdp_load(&skel, keep_devbound, bind_to_dev, &ifindex))
		return 3;
	ret = attach(fd, PFD(skel, ut_devbound), NULL);
	if (ret != -ENODEV) {
		fprintf(stderr, "# veth: ATTACH of a device-bound program: %d\n", ret);
		return 1;
	}
	return 0;
}

TEST_F(bpf, attach_dev_bound_is_enodev)
{
	int fd = self->r.fd, ifindex = if_nametoindex("lo"), ret;
	struct ut_xdp_bpf *skel;

	ASSERT_NE(0, ifindex);
	libbpf_quiet = true;
	ret = xdp_load(&skel, keep_devbound, bind_to_dev, &ifindex);
	libbpf_quiet = false;
	if (!ret) {
		EXPECT_EQ(-ENODEV, attach(fd, PFD(skel, ut_devbound), NULL));
		ut_xdp_bpf__destroy(skel);
		check_chain(fd);
		return;
	}
	TH_LOG("lo: load with BPF_F_XDP_DEV_BOUND_ONLY: %s; trying veth",
	       strerror(-ret));
	ret = ut_in_child(devbound_on_veth, &fd);
	if (ret == 2)
		SKIP(return, "lo takes no device-bound program, and no veth");
	if (ret == 3)
		SKIP(return, "this kernel refuses to load a device-bound XDP program");
	EXPECT_EQ(0, ret);
	check_chain(fd);
}

TEST_F(bpf, attach_frags_is_eopnotsupp)
{
	int fd = self->r.fd;

	EXPECT_EQ(-EOPNOTSUPP, attach(fd, PFD(self->skel, ut_frags), NULL));
	check_chain(fd);
}

/*
 * Programs loaded for devmap and cpumap entries may read the egress device
 * (egress_ifindex reads xdp->txq->dev), which a region's frame has none of:
 * refused, as bpf_prog_test_run_xdp() refuses them.
 */
TEST_F(bpf, attach_devmap_cpumap_is_einval)
{
	int fd = self->r.fd;

	EXPECT_EQ(-EINVAL, attach(fd, PFD(self->skel, ut_devmap), NULL));
	EXPECT_EQ(-EINVAL, attach(fd, PFD(self->skel, ut_cpumap), NULL));
	check_chain(fd);
	/* A plain XDP program still attaches and runs. */
	ASSERT_EQ(0, attach(fd, PFD(self->skel, ut_pass), NULL));
	check_chain(fd, prog_id_of(PFD(self->skel, ut_pass)));
}

struct netns_run {
	int prog_fd;
	__u16 port;
};

/*
 * In a new network namespace with 127.0.0.1:port listening: a region made
 * there runs ut_sk_lookup, which looks the socket up in the namespace of
 * its frame's device.  Exit status: 0 XDP_PASS (found), 1 XDP_DROP, 2 and
 * up set-up failures.
 */
static int sk_lookup_in_netns(void *arg)
{
	struct netns_run *a = arg;
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(a->port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct unified_io_bpf b = { .size = sizeof(b), .prog_fd = a->prog_fd };
	struct unified_io_desc d = {};
	struct unified_io_submit sub = { .size = sizeof(sub),
					 .flags = UNIFIED_IO_SUBMIT_F_INLINE };
	struct unified_io_cqe *cqe;
	struct ut_region r = {};
	int ls;

	if (unshare(CLONE_NEWNET) || system("ip link set lo up"))
		return 2;
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (void *)&sin, sizeof(sin)) || listen(ls, 1))
		return 3;
	r.fd = open(UNIFIED_IO_DEVICE, O_RDWR | O_CLOEXEC);
	if (r.fd < 0)
		return 4;
	ut_setup_init(&r.setup, SQ, CQ, BUF, NBUFS * BUF, 0);
	if (ut_ioctl(r.fd, UNIFIED_IO_SETUP, &r.setup))
		return 5;
	r.l = r.setup.layout;
	r.map_len = r.l.region_size;
	r.map = mmap(NULL, r.map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     r.fd, 0);
	if (r.map == MAP_FAILED)
		return 6;
	ut_region_wire(&r);
	if (ut_ioctl(r.fd, UNIFIED_IO_ATTACH_BPF, &b))
		return 7;
	/* ALLOC buffer 0's worth, then BPF over it. */
	unio_prep_alloc(&sub.desc, OWNER, 1);
	if (ut_ioctl(r.fd, UNIFIED_IO_SUBMIT, &sub) != 1)
		return 8;
	cqe = unio_peek_cqe(&r.q);
	if (!cqe || cqe->res != BUF)
		return 9;
	d.opcode = UNIFIED_IO_OP_BPF;
	d.owner = OWNER;
	d.addr = cqe->addr;
	d.len = 64;
	d.user_data = 2;
	unio_cqe_seen(&r.q);
	sub.desc = d;
	if (ut_ioctl(r.fd, UNIFIED_IO_SUBMIT, &sub) != 1)
		return 10;
	cqe = unio_peek_cqe(&r.q);
	if (!cqe || cqe->user_data != 2 || cqe->res < 0)
		return 11;
	return cqe->flags & UNIFIED_IO_CQE_F_BPF_DROP ? 1 : 0;
}

/*
 * Programs run in the namespace of the region's creator (helpers given
 * BPF_F_CURRENT_NETNS act there), not in the initial one.
 */
TEST_F(bpf, runs_in_the_creators_netns)
{
	struct netns_run a = { .prog_fd = PFD(self->skel, ut_sk_lookup) };
	struct unified_io_cqe cqe;
	int ret;

	/* A port nothing listens on here. */
	a.port = 30000 + getpid() % 20000;
	self->skel->bss->lookup_port = a.port;
	ret = ut_in_child(sk_lookup_in_netns, &a);
	ASSERT_GT(2, ret) TH_LOG("child set-up failed at step %d", ret);
	EXPECT_EQ(0, ret) TH_LOG("the lookup did not find the socket of the "
				 "region's namespace: the program ran elsewhere");

	/* Here, where nothing listens on the port: not found, dropped. */
	ASSERT_EQ(0, attach(self->r.fd, a.prog_fd, NULL));
	EXPECT_EQ(0, run_bpf(&self->r, OWNER, self->off, 64, &cqe));
	EXPECT_NE(0U, cqe.flags & UNIFIED_IO_CQE_F_BPF_DROP);
}

TEST_F(bpf, attach_twice_is_eexist)
{
	int fd = self->r.fd, a = PFD(self->skel, ut_pass), other;
	__u32 ia = prog_id_of(a), id;

	ASSERT_EQ(0, attach(fd, a, NULL));
	EXPECT_EQ(-EEXIST, attach(fd, a, &id));
	EXPECT_EQ(POISON_ID, id);
	/* Another fd of the same program. */
	other = bpf_prog_get_fd_by_id(ia);
	ASSERT_LE(0, other);
	EXPECT_EQ(-EEXIST, attach(fd, other, NULL));
	close(other);
	other = dup(a);
	EXPECT_EQ(-EEXIST, attach(fd, other, NULL));
	close(other);
	check_chain(fd, ia);
}

TEST_F(bpf, chain_of_max_length)
{
	static const int order[UNIFIED_IO_BPF_MAX_PROGS] = { 3, 1, 7, 0, 5, 2, 6, 4 };
	struct ut_xdp_bpf *s = self->skel;
	int chain[] = {
		PFD(s, ut_chain0), PFD(s, ut_chain1), PFD(s, ut_chain2),
		PFD(s, ut_chain3), PFD(s, ut_chain4), PFD(s, ut_chain5),
		PFD(s, ut_chain6), PFD(s, ut_chain7),
	};
	int fd = self->r.fd, pass = PFD(s, ut_pass);
	struct unified_io_info info;
	struct unified_io_cqe cqe;
	__u32 ids[UNIFIED_IO_BPF_MAX_PROGS], id;

	for (int i = 0; i < UNIFIED_IO_BPF_MAX_PROGS; i++) {
		ASSERT_EQ(0, attach(fd, chain[order[i]], &ids[i]));
		EXPECT_EQ(prog_id_of(chain[order[i]]), ids[i]);
	}
	__check_chain(_metadata, fd, ids, UNIFIED_IO_BPF_MAX_PROGS);

	/* Full: a ninth is ENOSPC, one already there still EEXIST. */
	EXPECT_EQ(-ENOSPC, attach(fd, pass, &id));
	EXPECT_EQ(POISON_ID, id);
	EXPECT_EQ(-EEXIST, attach(fd, chain[order[4]], NULL));
	__check_chain(_metadata, fd, ids, UNIFIED_IO_BPF_MAX_PROGS);

	/* All eight run, in chain order, each told its position. */
	memset(self->buf, 0, 64);
	ASSERT_EQ(64, run_bpf(&self->r, OWNER, self->off, 64, &cqe));
	EXPECT_EQ(0U, cqe.flags);
	EXPECT_EQ(self->off, cqe.addr);
	EXPECT_EQ(8, self->buf[0]);
	for (int i = 0; i < UNIFIED_IO_BPF_MAX_PROGS; i++) {
		EXPECT_EQ(order[i], self->buf[1 + i]) TH_LOG("position %d", i);
		EXPECT_EQ(i, self->buf[9 + i]) TH_LOG("prog_index at %d", i);
	}
	get_info(fd, &info);
	for (int i = 0; i < UNIFIED_IO_BPF_MAX_PROGS; i++) {
		struct counters c = { .runs = 1, .bytes = 64, .pass = 1 };

		check_counters(&info.bpf_progs[i], &c, "chain");
	}

	/* Room again after a detach; the newcomer goes last. */
	ASSERT_EQ(0, detach_id(fd, ids[2], NULL));
	ASSERT_EQ(0, attach(fd, pass, &id));
	memmove(&ids[2], &ids[3], 5 * sizeof(ids[0]));
	ids[7] = id;
	__check_chain(_metadata, fd, ids, UNIFIED_IO_BPF_MAX_PROGS);
}

/* Both capabilities dropped in a child that keeps the fd: EPERM. */
struct eperm_arg {
	int fd, attached, other;
	__u32 attached_id;
	__u64 off;
};

static int eperm_child(void *p)
{
	struct eperm_arg *a = p;
	struct unified_io_bpf bad = {
		.size = sizeof(bad), .flags = 1, .prog_fd = a->other,
	};
	struct unified_io_desc d;

	if (ut_drop_cap(CAP_BPF) || ut_drop_cap(CAP_SYS_ADMIN))
		return 10;
	if (ut_has_cap(CAP_BPF) || ut_has_cap(CAP_SYS_ADMIN))
		return 11;
	if (attach(a->fd, a->other, NULL) != -EPERM)
		return 12;
	if (detach_id(a->fd, a->attached_id, NULL) != -EPERM)
		return 13;
	if (detach_fd(a->fd, a->attached, NULL) != -EPERM)
		return 14;
	/* Argument checks come first. */
	if (ut_ioctl(a->fd, UNIFIED_IO_ATTACH_BPF, &bad) != -EINVAL)
		return 15;
	if (bpf_ioctl(a->fd, UNIFIED_IO_DETACH_BPF, -1, 0, NULL) != -EINVAL)
		return 16;
	/* Running needs no capability. */
	bpf_desc(&d, OWNER, a->off, 100, 0xe9e9);
	if (ut_submit_inline(a->fd, &d) != 1)
		return 17;
	return 0;
}

TEST_F(bpf, no_capability_is_eperm)
{
	struct eperm_arg a = {
		.fd = self->r.fd,
		.attached = PFD(self->skel, ut_pass),
		.other = PFD(self->skel, ut_drop),
		.off = self->off,
	};
	struct unified_io_cqe *c;

	a.attached_id = prog_id_of(a.attached);
	ASSERT_EQ(0, attach(a.fd, a.attached, NULL));
	EXPECT_EQ(0, ut_in_child(eperm_child, &a));
	check_chain(a.fd, a.attached_id);
	ASSERT_EQ(1U, unio_cq_ready(&self->r.q));
	c = unio_peek_cqe(&self->r.q);
	EXPECT_EQ(0xe9e9ULL, c->user_data);
	EXPECT_EQ(100, c->res);
	unio_cqe_seen(&self->r.q);
}

/* --- the verifier ----------------------------------------------------- */

static int bad_load(const char *only)
{
	struct ut_xdp_bad_bpf *skel = ut_xdp_bad_bpf__open();
	struct bpf_program *prog;
	int ret;

	if (!skel)
		return -errno;
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog,
					  !strcmp(bpf_program__name(prog), only));
	ret = ut_xdp_bad_bpf__load(skel);
	ut_xdp_bad_bpf__destroy(skel);
	return ret;
}

TEST(verifier_bounds_data_and_metadata)
{
	static const char *const bad[] = {
		"ut_read_past_end", "ut_write_past_end", "ut_read_unchecked",
		"ut_read_past_meta", "ut_read_meta_unchecked",
	};

	if (!ut_has_bpf_caps())
		SKIP(return, "needs CAP_BPF or CAP_SYS_ADMIN");
	/* The control, with every access checked, loads. */
	ASSERT_EQ(0, bad_load("ut_in_bounds"));
	libbpf_quiet = true;
	for (size_t i = 0; i < UT_ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EACCES, bad_load(bad[i])) TH_LOG("%s", bad[i]);
	}
	libbpf_quiet = false;
}

/* --- runs ------------------------------------------------------------- */

TEST_F(bpf, run_without_program_is_enoent)
{
	struct unified_io_cqe cqe;
	int a = PFD(self->skel, ut_inc);

	memset(self->buf, 0x5a, BUF);
	EXPECT_EQ(-ENOENT, run_bpf(&self->r, OWNER, self->off, 64, &cqe));
	EXPECT_EQ(0U, cqe.flags);
	/* Attached and detached again. */
	ASSERT_EQ(0, attach(self->r.fd, a, NULL));
	ASSERT_EQ(0, detach_fd(self->r.fd, a, NULL));
	EXPECT_EQ(-ENOENT, run_bpf(&self->r, OWNER, self->off, 64, &cqe));
	EXPECT_EQ(0U, cqe.flags);
	for (int i = 0; i < BUF; i++) {
		ASSERT_EQ(0x5a, self->buf[i]) TH_LOG("byte %d", i);
	}
}

TEST_F(bpf, verdicts)
{
	struct ut_xdp_bpf *s = self->skel;
	struct {
		const char *name;
		int prog;
		int res;
		__u32 flags;
		struct counters c;
	} cases[] = {
		{ "PASS", PFD(s, ut_pass), 100, 0, { .pass = 1 } },
		{ "DROP", PFD(s, ut_drop), 0, DROP_FLAGS(0), { .drop = 1 } },
		{ "ABORTED", PFD(s, ut_aborted), -ECANCELED, 0, { .aborted = 1 } },
		{ "TX", PFD(s, ut_tx), -EOPNOTSUPP, 0, { .other = 1 } },
		{ "REDIRECT", PFD(s, ut_redirect), -EOPNOTSUPP, 0, { .other = 1 } },
		{ "42", PFD(s, ut_unknown), -EOPNOTSUPP, 0, { .other = 1 } },
	};
	struct unified_io_info info;
	struct unified_io_cqe cqe;

	for (size_t i = 0; i < UT_ARRAY_SIZE(cases); i++) {
		cases[i].c.runs = 1;
		cases[i].c.bytes = 100;
		ASSERT_EQ(0, attach(self->r.fd, cases[i].prog, NULL));
		EXPECT_EQ(cases[i].res, run_bpf(&self->r, OWNER, self->off, 100,
						&cqe)) TH_LOG("%s", cases[i].name);
		EXPECT_EQ(cases[i].flags, cqe.flags) TH_LOG("%s", cases[i].name);
		EXPECT_EQ(self->off, cqe.addr) TH_LOG("%s", cases[i].name);
		EXPECT_EQ(0, memcmp(cqe.resv, "\0\0\0\0\0\0\0", 7));
		get_info(self->r.fd, &info);
		check_counters(&info.bpf_progs[0], &cases[i].c, cases[i].name);
		ASSERT_EQ(0, detach_fd(self->r.fd, cases[i].prog, NULL));
	}
}

TEST_F(bpf, drop_reports_program_index)
{
	struct ut_xdp_bpf *s = self->skel;
	int fd = self->r.fd;
	struct unified_io_info info;
	struct unified_io_cqe cqe;
	struct counters ran = { .runs = 1, .bytes = 64, .pass = 1 };
	struct counters dropped = { .runs = 1, .bytes = 64, .drop = 1 };
	struct counters none = {};

	ASSERT_EQ(0, attach(fd, PFD(s, ut_chain0), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_chain1), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_drop), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_chain2), NULL));
	memset(self->buf, 0, 64);
	EXPECT_EQ(0, run_bpf(&self->r, OWNER, self->off, 64, &cqe));
	EXPECT_EQ(DROP_FLAGS(2), cqe.flags);
	EXPECT_EQ(self->off, cqe.addr);
	/* The programs before it ran; the one after did not. */
	EXPECT_EQ(2, self->buf[0]);
	get_info(fd, &info);
	check_counters(&info.bpf_progs[0], &ran, "chain0");
	check_counters(&info.bpf_progs[1], &ran, "chain1");
	check_counters(&info.bpf_progs[2], &dropped, "drop");
	check_counters(&info.bpf_progs[3], &none, "chain2 after the drop");

	/* Index 7, the last possible. */
	ASSERT_EQ(0, detach_fd(fd, PFD(s, ut_drop), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_chain3), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_chain4), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_chain5), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_chain6), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_drop), NULL));
	memset(self->buf, 0, 64);
	EXPECT_EQ(0, run_bpf(&self->r, OWNER, self->off, 64, &cqe));
	EXPECT_EQ(DROP_FLAGS(7), cqe.flags);
	EXPECT_EQ(7, self->buf[0]);
}

TEST_F(bpf, failure_mid_chain_stops_it)
{
	struct ut_xdp_bpf *s = self->skel;
	int fd = self->r.fd;
	struct unified_io_info info;
	struct unified_io_cqe cqe;
	struct counters none = {};

	ASSERT_EQ(0, attach(fd, PFD(s, ut_chain0), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_aborted), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_chain1), NULL));
	memset(self->buf, 0, 64);
	EXPECT_EQ(-ECANCELED, run_bpf(&self->r, OWNER, self->off, 64, &cqe));
	EXPECT_EQ(0U, cqe.flags);
	/* Documented: programs before the failing one may change the data. */
	EXPECT_EQ(1, self->buf[0]);
	get_info(fd, &info);
	check_counters(&info.bpf_progs[2], &none, "after ABORTED");

	ASSERT_EQ(0, detach_fd(fd, PFD(s, ut_aborted), NULL));
	ASSERT_EQ(0, detach_fd(fd, PFD(s, ut_chain1), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_tx), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_chain1), NULL));
	memset(self->buf, 0, 64);
	EXPECT_EQ(-EOPNOTSUPP, run_bpf(&self->r, OWNER, self->off, 64, &cqe));
	EXPECT_EQ(0U, cqe.flags);
	EXPECT_EQ(1, self->buf[0]);
	get_info(fd, &info);
	check_counters(&info.bpf_progs[2], &none, "after TX");
}

TEST_F(bpf, adjust_head_is_eproto)
{
	struct ut_xdp_bpf *s = self->skel;
	int fd = self->r.fd;
	int deltas[] = { 4, -4, 1, -64 };
	struct unified_io_info info;
	struct unified_io_cqe cqe;
	struct counters c = {}, none = {};

	ASSERT_EQ(0, attach(fd, PFD(s, ut_ctl), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_chain0), NULL));
	for (size_t i = 0; i < UT_ARRAY_SIZE(deltas); i++) {
		s->bss->ctl_head = deltas[i];
		s->bss->ctl_head_ret = 12345;
		memset(self->buf, 0, 64);
		EXPECT_EQ(-EPROTO, run_bpf(&self->r, OWNER, self->off, 64, &cqe))
			TH_LOG("adjust_head(%d)", deltas[i]);
		EXPECT_EQ(0, s->bss->ctl_head_ret) TH_LOG("adjust_head(%d)", deltas[i]);
		EXPECT_EQ(0U, cqe.flags);
		c.runs++;
		c.bytes += 64;
		c.other++;
	}
	get_info(fd, &info);
	check_counters(&info.bpf_progs[0], &c, "adjust_head");
	check_counters(&info.bpf_progs[1], &none, "after adjust_head");

	/* A move that the helper refuses leaves the data where it was. */
	s->bss->ctl_head = 60;	/* would leave less than ETH_HLEN */
	EXPECT_EQ(64, run_bpf(&self->r, OWNER, self->off, 64, &cqe));
	EXPECT_EQ(-EINVAL, s->bss->ctl_head_ret);
}

TEST_F(bpf, adjust_tail_changes_result)
{
	struct ut_xdp_bpf *s = self->skel;
	int fd = self->r.fd, ctl = PFD(s, ut_ctl);
	struct unified_io_info info;
	struct unified_io_cqe cqe;

	ASSERT_EQ(0, attach(fd, ctl, NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_pass), NULL));

	/* Shrink. */
	s->bss->ctl_tail = -10;
	EXPECT_EQ(90, run_bpf(&self->r, OWNER, self->off, 100, &cqe));
	EXPECT_EQ(0, s->bss->ctl_tail_ret);
	EXPECT_EQ(0U, cqe.flags);
	/* The next program sees the new length. */
	get_info(fd, &info);
	EXPECT_EQ(100ULL, info.bpf_progs[0].bytes);
	EXPECT_EQ(90ULL, info.bpf_progs[1].bytes);

	/* Grow within the buffer: the new bytes are zeroed. */
	memset(self->buf, 0xaa, BUF);
	s->bss->ctl_tail = 50;
	EXPECT_EQ(150, run_bpf(&self->r, OWNER, self->off, 100, &cqe));
	EXPECT_EQ(0, s->bss->ctl_tail_ret);
	for (int i = 0; i < BUF; i++) {
		ASSERT_EQ(i >= 100 && i < 150 ? 0 : 0xaa, self->buf[i])
			TH_LOG("byte %d", i);
	}

	/* Down to the helper's minimum (ETH_HLEN), and not below. */
	s->bss->ctl_tail = -86;
	EXPECT_EQ(14, run_bpf(&self->r, OWNER, self->off, 100, &cqe));
	EXPECT_EQ(0, s->bss->ctl_tail_ret);
	s->bss->ctl_tail = -87;
	EXPECT_EQ(100, run_bpf(&self->r, OWNER, self->off, 100, &cqe));
	EXPECT_EQ(-EINVAL, s->bss->ctl_tail_ret);

	/* Never past the end of the buffer. */
	s->bss->ctl_tail = BUF;
	EXPECT_EQ(100, run_bpf(&self->r, OWNER, self->off, 100, &cqe));
	EXPECT_EQ(-EINVAL, s->bss->ctl_tail_ret);
}

/*
 * "a program may change it with bpf_xdp_adjust_tail, within the buffer":
 * over a whole buffer, and growing up to its end.
 */
TEST_F(bpf, adjust_tail_whole_buffer)
{
	struct ut_xdp_bpf *s = self->skel;
	struct unified_io_cqe cqe;

	ASSERT_EQ(0, attach(self->r.fd, PFD(s, ut_ctl), NULL));

	s->bss->ctl_tail = -100;
	EXPECT_EQ(BUF - 100, run_bpf(&self->r, OWNER, self->off, BUF, &cqe));
	EXPECT_EQ(0, s->bss->ctl_tail_ret)
		TH_LOG("shrinking a %d-byte run by 100", BUF);

	s->bss->ctl_tail = 100;
	EXPECT_EQ(BUF, run_bpf(&self->r, OWNER, self->off, BUF - 100, &cqe));
	EXPECT_EQ(0, s->bss->ctl_tail_ret)
		TH_LOG("growing %d bytes to the buffer's end", BUF - 100);

	s->bss->ctl_tail = 1;
	EXPECT_EQ(BUF, run_bpf(&self->r, OWNER, self->off, BUF, &cqe));
	EXPECT_EQ(-EINVAL, s->bss->ctl_tail_ret);

	/* For the log: the longest run a program can shrink by one byte. */
	s->bss->ctl_tail = -1;
	for (int len = BUF; len > 64; len -= 16) {
		int res = run_bpf(&self->r, OWNER, self->off, len, &cqe);

		if (res == len - 1) {
			if (len != BUF)
				TH_LOG("adjust_tail works on runs of at most %d of %d bytes",
				       len, BUF);
			break;
		}
	}
}

static void __check_meta(struct __test_metadata *_metadata, const __u8 *p,
			 const struct unified_io_desc *d, __u8 index)
{
	struct unified_io_bpf_meta m;

	memcpy(&m, p, sizeof(m));
	EXPECT_EQ(d->user_data, m.user_data) TH_LOG("prog %u", index);
	EXPECT_EQ(d->addr, m.offset) TH_LOG("prog %u", index);
	EXPECT_EQ(d->len, m.len) TH_LOG("prog %u", index);
	EXPECT_EQ(d->owner, m.owner) TH_LOG("prog %u", index);
	EXPECT_EQ(UNIFIED_IO_OP_BPF, m.opcode) TH_LOG("prog %u", index);
	EXPECT_EQ(index, m.prog_index);
}

#define check_meta(p, d, i)	__check_meta(_metadata, p, d, i)

TEST_F(bpf, metadata)
{
	struct ut_xdp_bpf *s = self->skel;
	struct ut_region *r = &self->r;
	int fd = r->fd;
	struct unified_io_desc d;
	struct unified_io_cqe cqe;
	__u64 off2 = 0;
	__u8 *buf2;

	ASSERT_EQ(0, attach(fd, PFD(s, ut_meta_copy_a), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_meta_copy_b), NULL));

	/* Through the SQ. */
	memset(self->buf, 0, BUF);
	bpf_desc(&d, OWNER, self->off, 100, 0x1122334455667788ULL);
	EXPECT_EQ(100, ut_do(r, &d, &cqe));
	check_meta(self->buf, &d, 0);
	check_meta(self->buf + 24, &d, 1);

	/* Inline, another buffer, another owner, the whole buffer. */
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(BUF, ut_alloc(r, 0xfffe, &off2));
	buf2 = unio_data_ptr(&r->q, off2);
	memset(buf2, 0, BUF);
	bpf_desc(&d, 0xfffe, off2, BUF, ~0ULL);
	EXPECT_EQ(BUF, ut_do_inline(r, &d, &cqe));
	EXPECT_EQ(off2, cqe.addr);
	check_meta(buf2, &d, 0);
	check_meta(buf2 + 24, &d, 1);

	/* len is the length when the chain started, not after a shrink. */
	ASSERT_EQ(0, detach_fd(fd, PFD(s, ut_meta_copy_a), NULL));
	ASSERT_EQ(0, detach_fd(fd, PFD(s, ut_meta_copy_b), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_ctl), NULL));
	ASSERT_EQ(0, attach(fd, PFD(s, ut_meta_copy_b), NULL));
	s->bss->ctl_tail = -20;
	memset(self->buf, 0, BUF);
	bpf_desc(&d, OWNER, self->off, 100, 42);
	EXPECT_EQ(80, ut_do(r, &d, &cqe));
	check_meta(self->buf + 24, &d, 1);
}

/*
 * "a program may change it, which affects later programs only": a later
 * program sees the change, the completion does not.
 */
TEST_F(bpf, metadata_changes_reach_later_programs)
{
	struct ut_xdp_bpf *s = self->skel;
	struct ut_region *r = &self->r;
	struct unified_io_bpf_meta m;
	struct unified_io_desc d;
	struct unified_io_cqe cqe;

	ASSERT_EQ(0, attach(r->fd, PFD(s, ut_meta_scribble), NULL));
	ASSERT_EQ(0, attach(r->fd, PFD(s, ut_meta_copy_b), NULL));
	memset(self->buf, 0, BUF);
	bpf_desc(&d, OWNER, self->off, 100, 0x0123456789abcdefULL);
	EXPECT_EQ(100, ut_do(r, &d, &cqe));
	EXPECT_EQ(0U, cqe.flags);
	memcpy(&m, self->buf + 24, sizeof(m));
	EXPECT_EQ(1, m.prog_index);
	EXPECT_EQ(~d.user_data, m.user_data)
		TH_LOG("program 1 did not see program 0's change");
	EXPECT_EQ(7U, m.len) TH_LOG("program 1 did not see program 0's change");
}

TEST_F(bpf, counters_exact)
{
	struct ut_xdp_bpf *s = self->skel;
	struct ut_region *r = &self->r;
	int fd = r->fd, ctl = PFD(s, ut_ctl), pass = PFD(s, ut_pass);
	struct {
		__u32 verdict;
		__u32 len;
		int res;
	} runs[] = {
		{ XDP_PASS, 1, 1 }, { XDP_PASS, 100, 100 }, { XDP_PASS, BUF, BUF },
		{ XDP_DROP, 7, 0 }, { XDP_DROP, 9, 0 },
		{ XDP_ABORTED, 33, -ECANCELED },
		{ XDP_TX, 20, -EOPNOTSUPP }, { XDP_REDIRECT, 21, -EOPNOTSUPP },
		{ 1000, 22, -EOPNOTSUPP }, { XDP_PASS, 5, 5 },
	};
	struct counters c = {}, cp = {};
	struct unified_io_info before, info;
	struct unified_io_cqe cqe;
	__u64 errors = 0;

	ASSERT_EQ(0, attach(fd, ctl, NULL));
	ASSERT_EQ(0, attach(fd, pass, NULL));
	get_info(fd, &before);
	for (size_t i = 0; i < UT_ARRAY_SIZE(runs); i++) {
		s->bss->ctl_verdict = runs[i].verdict;
		EXPECT_EQ(runs[i].res, run_bpf(r, OWNER, self->off, runs[i].len, &cqe))
			TH_LOG("run %zu", i);
		EXPECT_EQ(runs[i].len, s->bss->ctl_last_len);
		c.runs++;
		c.bytes += runs[i].len;
		switch (runs[i].verdict) {
		case XDP_PASS:
			c.pass++;
			cp.runs++;
			cp.pass++;
			cp.bytes += runs[i].len;
			break;
		case XDP_DROP:
			c.drop++;
			break;
		case XDP_ABORTED:
			c.aborted++;
			break;
		default:
			c.other++;
			break;
		}
		errors += runs[i].res < 0;
	}
	/* And one move of the data's start. */
	s->bss->ctl_verdict = XDP_PASS;
	s->bss->ctl_head = 2;
	EXPECT_EQ(-EPROTO, run_bpf(r, OWNER, self->off, 50, &cqe));
	c.runs++;
	c.bytes += 50;
	c.other++;
	errors++;

	get_info(fd, &info);
	ASSERT_EQ(2U, info.nr_bpf_progs);
	check_counters(&info.bpf_progs[0], &c, "ctl");
	check_counters(&info.bpf_progs[1], &cp, "pass");
	EXPECT_EQ(c.runs, s->bss->ctl_runs);
	EXPECT_EQ(before.stats.ops[UNIFIED_IO_OP_BPF] + c.runs,
		  info.stats.ops[UNIFIED_IO_OP_BPF]);
	EXPECT_EQ(before.stats.errors + errors, info.stats.errors);

	/* Counters stay with the program when another one leaves... */
	ASSERT_EQ(0, detach_fd(fd, pass, NULL));
	get_info(fd, &info);
	check_counters(&info.bpf_progs[0], &c, "ctl after detaching pass");
	/* ...and start from zero when it is attached again. */
	ASSERT_EQ(0, attach(fd, pass, NULL));
	get_info(fd, &info);
	cp = (struct counters){};
	check_counters(&info.bpf_progs[1], &cp, "pass re-attached");
	ASSERT_EQ(0, detach_fd(fd, ctl, NULL));
	ASSERT_EQ(0, attach(fd, ctl, NULL));
	get_info(fd, &info);
	c = (struct counters){};
	check_counters(&info.bpf_progs[1], &c, "ctl re-attached");
}

/* --- hostile descriptors ---------------------------------------------- */

TEST_F(bpf, hostile_descriptors_run_nothing)
{
	struct ut_xdp_bpf *s = self->skel;
	struct ut_region *r = &self->r;
	__u64 ds = r->l.data_size, off = self->off, freed = 0, other = 0, never;
	struct unified_io_info before, after;
	struct unified_io_desc d;
	struct unified_io_cqe cqe;
	__u8 *snap;
	struct hcase {
		const char *what;
		__u64 addr;
		__u32 len;
		__u16 owner;
		__u8 flags;
		int pad_byte;		/* >= 0: that byte of pad[] set */
		int res;
	};
	struct hcase cases[64 + 40];
	int n = 0, res;

	ASSERT_EQ(0, attach(r->fd, PFD(s, ut_ctl), NULL));
	ASSERT_EQ(0, attach(r->fd, PFD(s, ut_inc), NULL));
	/* One buffer of another owner, one allocated and freed, one never. */
	ASSERT_EQ(BUF, ut_alloc(r, OWNER + 1, &other));
	ASSERT_EQ(BUF, ut_alloc(r, OWNER, &freed));
	ASSERT_EQ(0, ut_free(r, OWNER, freed));
	ASSERT_NE(freed, other);
	for (never = ds - BUF; never; never -= BUF)
		if (never != freed && r->bt[never / BUF].state == UNIFIED_IO_BUF_FREE)
			break;
	ASSERT_NE(0ULL, never);

#define HC(w, a, l, o, f, p, e) \
	cases[n++] = (struct hcase){ w, a, l, o, f, p, e }
	HC("addr = data_size", ds, 64, OWNER, 0, -1, -ERANGE);
	HC("addr = data_size + BUF", ds + BUF, 64, OWNER, 0, -1, -ERANGE);
	HC("addr = data_size + 1", ds + 1, 64, OWNER, 0, -1, -ERANGE);
	HC("addr = U64_MAX", ~0ULL, 64, OWNER, 0, -1, -ERANGE);
	HC("addr = U64_MAX aligned", ~0ULL & ~(__u64)(BUF - 1), 64, OWNER, 0, -1, -ERANGE);
	HC("addr = 2^63", 1ULL << 63, 64, OWNER, 0, -1, -ERANGE);
	HC("addr + len wraps", ~0ULL - 10, 100, OWNER, 0, -1, -ERANGE);
	HC("addr = 2^32 + off", (1ULL << 32) + off, 64, OWNER, 0, -1, -ERANGE);
	HC("addr = last buffer + 2^63", (1ULL << 63) + ds - BUF, BUF, OWNER, 0, -1, -ERANGE);
	HC("addr off + 1", off + 1, 64, OWNER, 0, -1, -EINVAL);
	HC("addr off + 64", off + 64, 64, OWNER, 0, -1, -EINVAL);
	HC("addr off + BUF/2", off + BUF / 2, 64, OWNER, 0, -1, -EINVAL);
	HC("addr data_size - 1", ds - 1, 1, OWNER, 0, -1, -EINVAL);
	HC("len 0", off, 0, OWNER, 0, -1, -EINVAL);
	HC("len BUF + 1", off, BUF + 1, OWNER, 0, -1, -EINVAL);
	HC("len 2 * BUF", off, 2 * BUF, OWNER, 0, -1, -EINVAL);
	HC("len U32_MAX", off, ~0U, OWNER, 0, -1, -EINVAL);
	HC("owner 0", off, 64, 0, 0, -1, -EINVAL);
	HC("another owner", off, 64, OWNER + 1, 0, -1, -EPERM);
	HC("owner 0xffff", off, 64, 0xffff, 0, -1, -EPERM);
	HC("buffer of another owner", other, 64, OWNER, 0, -1, -EPERM);
	HC("freed buffer", freed, 64, OWNER, 0, -1, -EPERM);
	HC("never allocated buffer", never, 64, OWNER, 0, -1, -EPERM);
	HC("flags 1", off, 64, OWNER, 1, -1, -EINVAL);
	HC("flags 0x80", off, 64, OWNER, 0x80, -1, -EINVAL);
	/* Checks in the documented order. */
	HC("flags and addr out of range", ~0ULL, 64, OWNER, 1, -1, -EINVAL);
	HC("owner 0 and addr out of range", ~0ULL, 64, 0, 0, -1, -EINVAL);
	HC("out of range and unaligned", ds + 3, 0, OWNER, 0, -1, -ERANGE);
	HC("len 0 and another owner", off, 0, OWNER + 1, 0, -1, -EINVAL);
	HC("unaligned and not owned", freed + 8, 64, OWNER, 0, -1, -EINVAL);
	for (int i = 0; i < (int)sizeof(d.pad); i++)
		HC("pad byte", off, 64, OWNER, 0, i, -EINVAL);
#undef HC

	for (__u64 i = 0; i < ds; i++)
		((__u8 *)r->q.data)[i] = ut_pattern(3, i);
	snap = malloc(ds);
	ASSERT_NE(NULL, snap);
	memcpy(snap, r->q.data, ds);
	get_info(r->fd, &before);

	for (int i = 0; i < n; i++) {
		bpf_desc(&d, cases[i].owner, cases[i].addr, cases[i].len,
			 0xbad0000 + i);
		d.flags = cases[i].flags;
		if (cases[i].pad_byte >= 0)
			((__u8 *)d.pad)[cases[i].pad_byte] = 1 << (i % 8);
		res = i % 2 ? ut_do_inline(r, &d, &cqe) : ut_do(r, &d, &cqe);
		EXPECT_EQ(cases[i].res, res) TH_LOG("%s (%d)", cases[i].what,
						    cases[i].pad_byte);
		EXPECT_EQ(0U, cqe.flags) TH_LOG("%s", cases[i].what);
		EXPECT_EQ(0ULL, s->bss->ctl_runs) TH_LOG("%s: the program ran",
							 cases[i].what);
	}
	/* The named fields of the union, too. */
	bpf_desc(&d, OWNER, off, 64, 1);
	d.bpf.chain = 1;
	EXPECT_EQ(-EINVAL, ut_do(r, &d, &cqe));
	bpf_desc(&d, OWNER, off, 64, 2);
	d.bpf.flags = 1;
	EXPECT_EQ(-EINVAL, ut_do(r, &d, &cqe));
	bpf_desc(&d, OWNER, off, 64, 3);
	d.bpf.resv[3] = 1ULL << 63;
	EXPECT_EQ(-EINVAL, ut_do_inline(r, &d, &cqe));
	EXPECT_EQ(0ULL, s->bss->ctl_runs);

	get_info(r->fd, &after);
	EXPECT_EQ(0ULL, after.bpf_progs[0].runs);
	EXPECT_EQ(0ULL, after.bpf_progs[1].runs);
	EXPECT_EQ(0ULL, after.bpf_progs[0].run_ns);
	EXPECT_EQ(before.stats.ops[UNIFIED_IO_OP_BPF] + n + 3,
		  after.stats.ops[UNIFIED_IO_OP_BPF]);
	EXPECT_EQ(before.stats.errors + n + 3, after.stats.errors);
	EXPECT_EQ(before.stats.bufs_app, after.stats.bufs_app);
	EXPECT_EQ(0, memcmp(snap, r->q.data, ds)) TH_LOG("the data area changed");
	EXPECT_EQ(UNIFIED_IO_BUF_APP, r->bt[off / BUF].state);
	EXPECT_EQ(OWNER, r->bt[off / BUF].owner);
	EXPECT_EQ(UNIFIED_IO_BUF_FREE, r->bt[freed / BUF].state);
	free(snap);

	/* The same region still runs a valid descriptor. */
	EXPECT_EQ(64, run_bpf(r, OWNER, off, 64, &cqe));
	EXPECT_EQ(1ULL, s->bss->ctl_runs);
	EXPECT_EQ((__u8)(ut_pattern(3, off) + 1), self->buf[0]);
}

/* --- concurrency and lifetime ----------------------------------------- */

struct stress {
	struct ut_region *r;
	__u64 off;
	int pass, drop, inc;
	__u32 pass_id, drop_id, inc_id;
	_Atomic bool stop;
	/* submitter */
	__u64 runs, passed, dropped, noent;
	__u64 bad;
	int bad_res;
	__u32 bad_flags;
	/* attacher */
	__u64 cycles;
	int attach_err, attach_step;
};

#define STRESS_LEN	200

static void *stress_submit(void *p)
{
	struct stress *st = p;
	struct ut_region *r = st->r;
	struct unified_io_desc d;
	struct unified_io_cqe *c;

	bpf_desc(&d, OWNER, st->off, STRESS_LEN, 0);
	while (!atomic_load(&st->stop)) {
		int ret;

		d.user_data++;
		ret = ut_submit_inline(r->fd, &d);
		if (ret != 1) {
			st->bad++;
			st->bad_res = 1000 + ret;
			break;
		}
		c = unio_peek_cqe(&r->q);
		if (!c || c->user_data != d.user_data) {
			st->bad++;
			st->bad_res = 2000;
			break;
		}
		st->runs++;
		if (c->res == STRESS_LEN && c->flags == 0) {
			st->passed++;
		} else if (c->res == 0 && (c->flags == DROP_FLAGS(0) ||
					   c->flags == DROP_FLAGS(1))) {
			st->dropped++;
		} else if (c->res == -ENOENT && c->flags == 0) {
			st->noent++;
		} else {
			st->bad++;
			st->bad_res = c->res;
			st->bad_flags = c->flags;
		}
		unio_cqe_seen(&r->q);
	}
	return NULL;
}

static void *stress_attach(void *p)
{
	struct stress *st = p;
	int fd = st->r->fd;
	struct unified_io_info info;
	/* Each step and the chain length after it. */
	int step = 0;

#define STEP(call, nr) do {						\
	int __ret = (call);						\
									\
	step++;								\
	if (!__ret && (ut_get_info(fd, &info) ||			\
		       info.nr_bpf_progs != (nr)))			\
		__ret = 9999;						\
	if (__ret) {							\
		st->attach_err = __ret;					\
		st->attach_step = step;					\
		return NULL;						\
	}								\
} while (0)

	while (!atomic_load(&st->stop)) {
		step = 0;
		STEP(attach(fd, st->pass, NULL), 1);
		STEP(attach(fd, st->drop, NULL), 2);
		STEP(attach(fd, st->inc, NULL), 3);
		STEP(detach_fd(fd, st->drop, NULL), 2);
		STEP(detach_id(fd, st->pass_id, NULL), 1);
		STEP(attach(fd, st->drop, NULL), 2);
		STEP(detach_fd(fd, st->inc, NULL), 1);
		STEP(detach_id(fd, st->drop_id, NULL), 0);
		st->cycles++;
	}
#undef STEP
	return NULL;
}

TEST_F(bpf, detach_during_runs)
{
	struct ut_xdp_bpf *s = self->skel;
	struct stress st = {
		.r = &self->r, .off = self->off,
		.pass = PFD(s, ut_pass), .drop = PFD(s, ut_drop),
		.inc = PFD(s, ut_inc),
	};
	struct unified_io_info info;
	struct unified_io_cqe cqe;
	pthread_t sub, att;
	__u64 end;

	st.pass_id = prog_id_of(st.pass);
	st.drop_id = prog_id_of(st.drop);
	st.inc_id = prog_id_of(st.inc);
	atomic_init(&st.stop, false);
	ASSERT_EQ(0, pthread_create(&sub, NULL, stress_submit, &st));
	ASSERT_EQ(0, pthread_create(&att, NULL, stress_attach, &st));
	end = ut_now_ns() + 2000000000ULL;
	while (ut_now_ns() < end && !st.attach_err && !st.bad)
		usleep(10000);
	atomic_store(&st.stop, true);
	pthread_join(sub, NULL);
	pthread_join(att, NULL);

	TH_LOG("%llu runs: %llu pass, %llu drop, %llu ENOENT; %llu attach cycles",
	       (unsigned long long)st.runs, (unsigned long long)st.passed,
	       (unsigned long long)st.dropped, (unsigned long long)st.noent,
	       (unsigned long long)st.cycles);
	EXPECT_EQ(0, st.attach_err) TH_LOG("attach/detach step %d", st.attach_step);
	EXPECT_EQ(0ULL, st.bad) TH_LOG("completion res %d flags %#x",
				       st.bad_res, st.bad_flags);
	EXPECT_LT(0ULL, st.runs);
	EXPECT_LT(0ULL, st.cycles);

	/* Books balance, and the region still works. */
	get_info(self->r.fd, &info);
	EXPECT_EQ(info.stats.sqes, info.stats.cqes);
	EXPECT_EQ(0U, unio_cq_ready(&self->r.q));
	for (__u32 i = 0; i < info.nr_bpf_progs; i++)
		detach_id(self->r.fd, info.bpf_progs[i].prog_id, NULL);
	check_chain(self->r.fd);
	ASSERT_EQ(0, attach(self->r.fd, st.pass, NULL));
	EXPECT_EQ(64, run_bpf(&self->r, OWNER, self->off, 64, &cqe));
}

/*
 * The region holds a reference on every program in its chain: the programs
 * outlive their fds while attached, and are freed (their ids gone) when both
 * the fds and the region are gone, in either order.
 */
FIXTURE(lifetime) {
	struct ut_region r;
	struct ut_xdp_bpf *skel;
	__u32 ids[2];
	__u64 off;
};

FIXTURE_VARIANT(lifetime) {
	bool region_first;	/* close the region before the program fds */
	bool close_before_unmap;
};

FIXTURE_VARIANT_ADD(lifetime, fds_first) {
	.region_first = false,
};

FIXTURE_VARIANT_ADD(lifetime, region_first) {
	.region_first = true,
};

FIXTURE_VARIANT_ADD(lifetime, region_first_close_then_unmap) {
	.region_first = true,
	.close_before_unmap = true,
};

FIXTURE_SETUP(lifetime)
{
	if (!xdp_fixture_setup(&self->r, &self->skel, BUF, NBUFS * BUF, 0))
		return;
	ASSERT_EQ(BUF, ut_alloc(&self->r, OWNER, &self->off));
}

FIXTURE_TEARDOWN(lifetime)
{
	ut_region_destroy(&self->r);
	if (self->skel)
		ut_xdp_bpf__destroy(self->skel);
}

TEST_F(lifetime, programs_freed_with_last_reference)
{
	struct ut_region *r = &self->r;
	struct unified_io_cqe cqe;

	ASSERT_EQ(0, attach(r->fd, PFD(self->skel, ut_inc), &self->ids[0]));
	ASSERT_EQ(0, attach(r->fd, PFD(self->skel, ut_drop), &self->ids[1]));
	EXPECT_EQ(0, prog_id_alive(self->ids[0]));
	EXPECT_EQ(0, prog_id_alive(self->ids[1]));

	if (!variant->region_first) {
		/* Only the region holds them now: they still run. */
		ut_xdp_bpf__destroy(self->skel);
		self->skel = NULL;
		EXPECT_EQ(0, prog_id_alive(self->ids[0]));
		EXPECT_EQ(0, prog_id_alive(self->ids[1]));
		check_chain(r->fd, self->ids[0], self->ids[1]);
		EXPECT_EQ(0, run_bpf(r, OWNER, self->off, 64, &cqe));
		EXPECT_EQ(DROP_FLAGS(1), cqe.flags);
		ut_region_destroy(r);
	} else {
		if (variant->close_before_unmap) {
			/* The mapping keeps the file, so the chain, alive. */
			close(r->fd);
			r->fd = -1;
			TH_LOG("closed, still mapped: program %s",
			       prog_id_alive(self->ids[0]) ? "freed" : "alive");
		}
		ut_region_destroy(r);
		/* Only the skeleton holds them now. */
		EXPECT_EQ(0, prog_id_alive(self->ids[0]));
		EXPECT_EQ(0, prog_id_alive(self->ids[1]));
		ut_xdp_bpf__destroy(self->skel);
		self->skel = NULL;
	}
	EXPECT_EQ(-ENOENT, prog_id_alive(self->ids[0]));
	EXPECT_EQ(-ENOENT, prog_id_alive(self->ids[1]));
}

/* fork(): the child shares the context and its chain. */
struct fork_arg {
	struct ut_region *r;
	__u64 off;
	int pass;
};

static int fork_child(void *p)
{
	struct fork_arg *a = p;
	struct ut_region *r = a->r;
	struct unified_io_desc *d;
	struct unified_io_cqe *c;

	for (int i = 0; i < 4; i++) {
		d = unio_get_sqe(&r->q);
		if (!d)
			return 10;
		bpf_desc(d, OWNER, a->off, 10 + i, 0xc0 + i);
	}
	unio_sq_flush(&r->q);
	if (ut_submit(r->fd, 4) != 4)
		return 11;
	for (int i = 0; i < 4; i++) {
		c = unio_peek_cqe(&r->q);
		if (!c || c->user_data != 0xc0ULL + i || c->res != 10 + i)
			return 12 + i;
		unio_cqe_seen(&r->q);
	}
	/* The child extends the chain the parent sees. */
	if (attach(r->fd, a->pass, NULL))
		return 20;
	return 0;
}

TEST_F(bpf, fork_child_runs_chain)
{
	struct ut_region *r = &self->r;
	struct fork_arg a = { .r = r, .off = self->off,
			      .pass = PFD(self->skel, ut_pass) };
	int ctl = PFD(self->skel, ut_ctl);
	struct unified_io_info info;
	struct unified_io_cqe cqe;
	struct counters c = { .runs = 4, .bytes = 10 + 11 + 12 + 13, .pass = 4 };

	ASSERT_EQ(0, attach(r->fd, ctl, NULL));
	ASSERT_EQ(0, ut_in_child(fork_child, &a));
	r->q.sq.sqe_tail = *r->q.sq.ktail;

	check_chain(r->fd, prog_id_of(ctl), prog_id_of(a.pass));
	get_info(r->fd, &info);
	check_counters(&info.bpf_progs[0], &c, "ctl, run by the child");
	EXPECT_EQ(4ULL, self->skel->bss->ctl_runs);
	EXPECT_EQ(64, run_bpf(r, OWNER, self->off, 64, &cqe));
	EXPECT_EQ(5ULL, self->skel->bss->ctl_runs);
}

/*
 * Every buffer, whole, for several geometries: the program sees exactly its
 * buffer (first and last byte), the others are untouched.
 */
FIXTURE(geometry) {
	struct ut_region r;
	struct ut_xdp_bpf *skel;
};

FIXTURE_VARIANT(geometry) {
	__u32 buf_size;
	__u32 nr_bufs;
	__u32 flags;
};

FIXTURE_VARIANT_ADD(geometry, buf_4k) {
	.buf_size = 4096, .nr_bufs = 16,
};

FIXTURE_VARIANT_ADD(geometry, buf_64k) {
	.buf_size = 65536, .nr_bufs = 8,
};

FIXTURE_VARIANT_ADD(geometry, buf_2m_huge) {
	.buf_size = 2 << 20, .nr_bufs = 3,
	.flags = UNIFIED_IO_SETUP_F_HUGE_PAGES,
};

FIXTURE_SETUP(geometry)
{
	xdp_fixture_setup(&self->r, &self->skel, variant->buf_size,
			  (__u64)variant->nr_bufs * variant->buf_size,
			  variant->flags);
}

FIXTURE_TEARDOWN(geometry)
{
	ut_region_destroy(&self->r);
	if (self->skel)
		ut_xdp_bpf__destroy(self->skel);
}

TEST_F(geometry, every_buffer_whole)
{
	struct ut_region *r = &self->r;
	__u32 bs = variant->buf_size, nr = variant->nr_bufs;
	/* The last byte ut_edges reaches (the helpers stop at 0xffff). */
	__u32 last = bs - 1 > 0xffff ? 0xffff : bs - 1;
	__u8 *data = r->q.data;
	struct unified_io_cqe cqe;
	__u64 off;

	ASSERT_EQ(0, attach(r->fd, PFD(self->skel, ut_meta_copy_a), NULL));
	ASSERT_EQ(0, attach(r->fd, PFD(self->skel, ut_edges), NULL));
	for (__u32 i = 0; i < nr; i++) {
		ASSERT_EQ((int)bs, ut_alloc(r, OWNER, &off));
		ASSERT_EQ((__u64)i * bs, off);
	}
	for (__u64 j = 0; j < (__u64)nr * bs; j++)
		data[j] = ut_pattern(9, j);
	for (__u32 i = 0; i < nr; i++) {
		struct unified_io_desc d;

		off = (__u64)i * bs;
		bpf_desc(&d, OWNER, off, bs, 0x9e0 + i);
		EXPECT_EQ((int)bs, ut_do(r, &d, &cqe)) TH_LOG("buffer %u", i);
		check_meta(data + off, &d, 0);
		/* ut_edges: last byte = first byte (after the meta copy) + 1. */
		EXPECT_EQ((__u8)(data[off] + 1), data[off + last]) TH_LOG("buffer %u", i);
		/* Everything else of the data area is as written. */
		for (__u64 j = 0; j < (__u64)nr * bs; j++) {
			if (j >= off && (j < off + 24 || j == off + last))
				continue;
			ASSERT_EQ(ut_pattern(9, j), data[j])
				TH_LOG("buffer %u: byte %llu changed", i,
				       (unsigned long long)j);
		}
		/* Restore it for the next round's check. */
		for (__u64 j = off; j < off + bs; j++)
			data[j] = ut_pattern(9, j);
	}
}

TEST_HARNESS_MAIN
