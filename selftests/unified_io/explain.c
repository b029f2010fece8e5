// SPDX-License-Identifier: GPL-2.0
/*
 * unio_explain(): each errno of OPEN, SETUP, NET_BIND and ATTACH_BPF is
 * explained by naming what is at fault (the option and its limit, the
 * locked-memory limit and "ulimit -l", the capability, the missing module).
 *
 * The first tests feed the function errnos and options directly and need no
 * device. The others make the module refuse for real and check both the
 * errno (so the table stays true to the kernel) and the explanation of the
 * errno it returned. Like libunifiedio.c, linked against the shared library:
 * the symbol is LIBUNIFIEDIO_1.5's.
 */
#include <sched.h>

#include "ut.h"

#define EXPLAIN_LEN	1024

/* The explanation of @err from @call with @opts, in @buf; its length. */
static int explain(unsigned int call, int err, const struct unio_region_opts *opts,
		   char *buf)
{
	memset(buf, 0xcc, EXPLAIN_LEN);
	return unio_explain(call, err, opts, buf, EXPLAIN_LEN);
}

/* Every word of the NULL-terminated @words is in @text. */
static bool has_all(const char *text, const char *const *words)
{
	for (; *words; words++)
		if (!strstr(text, *words))
			return false;
	return true;
}

#define EXPECT_EXPLAINS(call, err, opts, ...) do {			\
	static const char *const __w[] = { __VA_ARGS__, NULL };	\
	char __b[EXPLAIN_LEN];						\
	int __n = explain(call, err, opts, __b);			\
									\
	EXPECT_EQ((int)strlen(__b), __n);				\
	EXPECT_TRUE(has_all(__b, __w))					\
		TH_LOG("%s (%s): \"%s\"", #call, strerror(err < 0 ? -err : err), __b); \
} while (0)

TEST(api)
{
	char buf[EXPLAIN_LEN], small[8];
	int n;

	/* Unknown calls and a NULL buffer with a size: nothing written. */
	memset(buf, 'x', sizeof(buf));
	EXPECT_EQ(-EINVAL, unio_explain(0, EPERM, NULL, buf, sizeof(buf)));
	EXPECT_EQ(-EINVAL, unio_explain(UNIO_CALL_BPF_ATTACH + 1, EPERM, NULL,
					buf, sizeof(buf)));
	EXPECT_EQ('x', buf[0]);
	EXPECT_EQ(-EINVAL, unio_explain(UNIO_CALL_SETUP, E2BIG, NULL, NULL, 1));

	/* The length of the whole text, as snprintf() counts it. */
	n = unio_explain(UNIO_CALL_BPF_ATTACH, -EEXIST, NULL, NULL, 0);
	ASSERT_LT(0, n);
	EXPECT_EQ(n, unio_explain(UNIO_CALL_BPF_ATTACH, EEXIST, NULL, buf,
				  sizeof(buf)));
	EXPECT_EQ(n, (int)strlen(buf));
	/* Truncated, still terminated. */
	EXPECT_EQ(n, unio_explain(UNIO_CALL_BPF_ATTACH, -EEXIST, NULL, small,
				  sizeof(small)));
	EXPECT_EQ(sizeof(small) - 1, strlen(small));
	EXPECT_EQ(0, strncmp(buf, small, sizeof(small) - 1));

	/* An errno the call does not document: strerror()'s text. */
	explain(UNIO_CALL_NET_BIND, -EFAULT, NULL, buf);
	EXPECT_STREQ(strerror(EFAULT), buf);
}

/* Each SETUP limit, named from the options, in the module's order. */
TEST(setup_options)
{
	UNIO_OPTS(big_buf, .buf_size = 4 << 20);
	UNIO_OPTS(big_data, .data_size = 64ULL << 30);
	UNIO_OPTS(big_sq, .sq_entries = 65536);
	UNIO_OPTS(big_cq, .sq_entries = 1, .cq_entries = 65536);
	UNIO_OPTS(many_bufs, .buf_size = 4096, .data_size = 1ULL << 30);
	UNIO_OPTS(odd_buf, .buf_size = 3 << 10);
	UNIO_OPTS(odd_sq, .sq_entries = 3);
	UNIO_OPTS(small_cq, .sq_entries = 16, .cq_entries = 8);
	UNIO_OPTS(ragged, .buf_size = 4096, .data_size = 4096 * 3 + 512);
	UNIO_OPTS(flags, .flags = 1U << 5);
	UNIO_OPTS(numa, .flags = UNIFIED_IO_SETUP_F_NUMA_NODE, .numa_node = 4095);
	/* The sq check comes first: both are wrong, sq is named. */
	UNIO_OPTS(both, .sq_entries = 3, .buf_size = 3 << 10);
	struct {
		struct unio_region_opts base;
		uint64_t newer;
	} tail;

	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -E2BIG, &big_buf, "buf_size 4 MiB",
			"2 MiB", "UNIFIED_IO_MAX_BUF_SIZE");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -E2BIG, &big_data, "data_size 64 GiB",
			"1 GiB cap", "UNIFIED_IO_MAX_DATA_SIZE");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -E2BIG, &big_sq, "sq_entries 65536",
			"32768");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -E2BIG, &big_cq, "cq_entries 65536",
			"32768");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -E2BIG, &many_bufs, "262144 buffers",
			"65536", "UNIFIED_IO_MAX_BUFS");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EINVAL, &odd_buf, "buf_size 3072",
			"power of two", "2 MiB");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EINVAL, &odd_sq, "sq_entries 3",
			"power of two", "32768");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EINVAL, &small_cq, "cq_entries 8",
			"sq_entries (16)");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EINVAL, &ragged, "data_size 12800",
			"multiple of buf_size");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EINVAL, &flags, "flags 0x20",
			"UNIFIED_IO_SETUP_F_HUGE_PAGES");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EINVAL, &numa, "numa_node 4095",
			"online");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EINVAL, &both, "sq_entries 3");

	/* Without options at fault, every rule is listed. */
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EINVAL, NULL, "sq_entries",
			"buf_size", "data_size", "numa_node");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -E2BIG, NULL, "32768", "2 MiB",
			"1 GiB", "65536");

	/* Options from a newer library: E2BIG from the library itself. */
	memset(&tail, 0, sizeof(tail));
	tail.base.sz = sizeof(tail);
	tail.newer = 1;
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -E2BIG, &tail.base, "newer libunifiedio");

	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EOVERFLOW, NULL, "1 GiB cap");
	{
		UNIO_OPTS(small, .data_size = 1 << 20);

		/* Only a data_size near 2^64 overflows: not these options. */
		EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EOVERFLOW, &small, "1 GiB cap",
				"the failed call had other options");
	}
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EBUSY, NULL, "one SETUP per open");
	{
		UNIO_OPTS(ring, .ring = 3);

		EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EINVAL, &ring, "ring 3",
				"UNIO_RING_IO_URING");
	}
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EOPNOTSUPP, NULL,
			"UNIFIED_IO_FEAT_URING_CMD", "UNIO_RING_AUTO");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EPROTO, NULL, "layout");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -ENOTTY, NULL, UNIFIED_IO_DEVICE,
			"not the unified_io device");
}

/* The device path and why it cannot be opened; SETUP passes these on. */
TEST(open_device)
{
	UNIO_OPTS(path, .dev_path = "/nonexistent/unified_io");
	bool loaded = !access("/sys/module/unified_io", F_OK);

	/* A path of the caller's: the path is what to check. */
	EXPECT_EXPLAINS(UNIO_CALL_OPEN, -ENOENT, &path,
			"/nonexistent/unified_io", "does not exist",
			"check the path");
	/* The module's own node: whether the module is loaded. */
	if (loaded)
		EXPECT_EXPLAINS(UNIO_CALL_OPEN, -ENOENT, NULL,
				UNIFIED_IO_DEVICE, "does not exist",
				"module is loaded");
	else
		EXPECT_EXPLAINS(UNIO_CALL_OPEN, -ENOENT, NULL,
				UNIFIED_IO_DEVICE, "not loaded",
				"unified_io.ko", "tools/vm/run");
	EXPECT_EXPLAINS(UNIO_CALL_OPEN, -ENODEV, NULL, UNIFIED_IO_DEVICE,
			"unified_io.ko", "tools/vm/run");
	EXPECT_EXPLAINS(UNIO_CALL_OPEN, -EACCES, NULL, UNIFIED_IO_DEVICE,
			"permission", "udev");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -EACCES, &path,
			"/nonexistent/unified_io", "permission");
	EXPECT_EXPLAINS(UNIO_CALL_SETUP, -ENOENT, NULL, UNIFIED_IO_DEVICE,
			"does not exist");
}

TEST(net_bind_bpf_attach)
{
	EXPECT_EXPLAINS(UNIO_CALL_NET_BIND, -EPERM, NULL, "CAP_NET_ADMIN",
			"initial user namespace");
	EXPECT_EXPLAINS(UNIO_CALL_NET_BIND, -EOPNOTSUPP, NULL,
			"queue management", "UNIFIED_IO_FEAT_NET_PROVIDER",
			"unio_zcrx_register");
	EXPECT_EXPLAINS(UNIO_CALL_NET_BIND, -EINVAL, NULL, "nr_bufs",
			"page size", "tcp-data-split");
	EXPECT_EXPLAINS(UNIO_CALL_NET_BIND, -ENODEV, NULL, "no interface");
	EXPECT_EXPLAINS(UNIO_CALL_NET_BIND, -ERANGE, NULL, "rxq");
	EXPECT_EXPLAINS(UNIO_CALL_NET_BIND, -EEXIST, NULL, "memory provider",
			"XDP program");
	EXPECT_EXPLAINS(UNIO_CALL_NET_BIND, -ENOBUFS, NULL, "free buffers");
	EXPECT_EXPLAINS(UNIO_CALL_NET_BIND, -EBUSY, NULL, "still out", "retry");

	EXPECT_EXPLAINS(UNIO_CALL_BPF_ATTACH, -EPERM, NULL, "CAP_BPF",
			"CAP_SYS_ADMIN");
	EXPECT_EXPLAINS(UNIO_CALL_BPF_ATTACH, -EBADF, NULL, "prog_fd",
			"not an open file");
	EXPECT_EXPLAINS(UNIO_CALL_BPF_ATTACH, -EINVAL, NULL, "XDP program",
			"devmap");
	EXPECT_EXPLAINS(UNIO_CALL_BPF_ATTACH, -ENODEV, NULL, "bound to a device");
	EXPECT_EXPLAINS(UNIO_CALL_BPF_ATTACH, -EOPNOTSUPP, NULL, "frags");
	EXPECT_EXPLAINS(UNIO_CALL_BPF_ATTACH, -EEXIST, NULL, "already");
	EXPECT_EXPLAINS(UNIO_CALL_BPF_ATTACH, -ENOSPC, NULL, "8 programs",
			"UNIFIED_IO_BPF_MAX_PROGS");
}

/*
 * The module refuses each of these with the errno the explanation is
 * written for, and the explanation of what it returned names the option.
 */
TEST(setup_kernel)
{
	static const struct {
		struct unio_region_opts opts;
		int err;
		const char *word;
	} cases[] = {
		{ { .sz = sizeof(struct unio_region_opts), .buf_size = 4 << 20 },
		  -E2BIG, "buf_size 4 MiB" },
		{ { .sz = sizeof(struct unio_region_opts), .data_size = 64ULL << 30 },
		  -E2BIG, "1 GiB cap" },
		{ { .sz = sizeof(struct unio_region_opts), .sq_entries = 65536 },
		  -E2BIG, "sq_entries 65536" },
		{ { .sz = sizeof(struct unio_region_opts), .buf_size = 4096,
		    .data_size = 1ULL << 30 }, -E2BIG, "UNIFIED_IO_MAX_BUFS" },
		{ { .sz = sizeof(struct unio_region_opts), .buf_size = 3 << 10 },
		  -EINVAL, "buf_size 3072" },
		{ { .sz = sizeof(struct unio_region_opts), .sq_entries = 3 },
		  -EINVAL, "sq_entries 3" },
		{ { .sz = sizeof(struct unio_region_opts), .sq_entries = 16,
		    .cq_entries = 8 }, -EINVAL, "cq_entries 8" },
		{ { .sz = sizeof(struct unio_region_opts), .buf_size = 4096,
		    .data_size = 4096 * 3 + 512 }, -EINVAL, "data_size 12800" },
		{ { .sz = sizeof(struct unio_region_opts), .flags = 1U << 5 },
		  -EINVAL, "flags 0x20" },
	};
	char buf[EXPLAIN_LEN];
	struct unio_region *r;
	unsigned int i;
	int ret;

	UT_REQUIRE_DEVICE();

	for (i = 0; i < UT_ARRAY_SIZE(cases); i++) {
		r = NULL;
		ret = unio_region_create(&cases[i].opts, &r);
		EXPECT_EQ(cases[i].err, ret) TH_LOG("case %u", i);
		if (!ret) {
			unio_region_destroy(r);
			continue;
		}
		explain(UNIO_CALL_SETUP, ret, &cases[i].opts, buf);
		EXPECT_NE(NULL, strstr(buf, cases[i].word))
			TH_LOG("case %u: \"%s\"", i, buf);
	}

	/* A second SETUP on the same open. */
	ASSERT_EQ(0, unio_region_create(NULL, &r));
	ret = unio_region_setup(r, NULL);
	EXPECT_EQ(-EBUSY, ret);
	explain(UNIO_CALL_SETUP, ret, NULL, buf);
	EXPECT_NE(NULL, strstr(buf, "one SETUP per open")) TH_LOG("\"%s\"", buf);
	unio_region_destroy(r);
}

/*
 * RLIMIT_MEMLOCK: the module charges the region to it unless the caller
 * has CAP_IPC_LOCK, so the child drops that and lowers the limit below the
 * region's size. Exit codes: 0 ok, 1 no ENOMEM, 2 explanation wrong, 3 set-up.
 */
static int memlock_child(void *arg)
{
	const struct rlimit rl = { .rlim_cur = 256 << 10, .rlim_max = 256 << 10 };
	UNIO_OPTS(opts, .buf_size = 64 << 10, .data_size = 16 << 20);
	char buf[EXPLAIN_LEN];
	struct unio_region *r;
	int ret;

	(void)arg;
	if (ut_drop_cap(CAP_IPC_LOCK) || setrlimit(RLIMIT_MEMLOCK, &rl))
		return 3;
	ret = unio_region_create(&opts, &r);
	if (ret != -ENOMEM) {
		if (!ret)
			unio_region_destroy(r);
		return 1;
	}
	explain(UNIO_CALL_SETUP, ret, &opts, buf);
	fprintf(stderr, "# memlock: %s\n", buf);
	return strstr(buf, "RLIMIT_MEMLOCK") && strstr(buf, "ulimit -l: 256 KiB") &&
	       strstr(buf, "more than") && strstr(buf, "CAP_IPC_LOCK") ? 0 : 2;
}

TEST(setup_memlock)
{
	UNIO_OPTS(opts, .buf_size = 64 << 10, .data_size = 16 << 20);
	char buf[EXPLAIN_LEN];

	UT_REQUIRE_DEVICE();
	if (!ut_has_cap(CAP_IPC_LOCK))
		SKIP(return, "no CAP_IPC_LOCK to drop");
	EXPECT_EQ(0, ut_in_child(memlock_child, NULL));

	/* With CAP_IPC_LOCK the limit does not apply: it says so. */
	explain(UNIO_CALL_SETUP, -ENOMEM, &opts, buf);
	EXPECT_NE(NULL, strstr(buf, "could not allocate")) TH_LOG("\"%s\"", buf);
	EXPECT_NE(NULL, strstr(buf, "CAP_IPC_LOCK")) TH_LOG("\"%s\"", buf);
}

/*
 * In a user namespace of its own the child has every capability there, but
 * the kernel's capable(CAP_IPC_LOCK) looks at the initial one: the
 * explanation must name the limit, not say that it does not apply.  Exit
 * codes: 0 ok, 2 explanation wrong, 3 set-up, 4 no user namespaces here.
 */
static int memlock_user_ns_child(void *arg)
{
	const struct rlimit rl = { .rlim_cur = 256 << 10, .rlim_max = 256 << 10 };
	UNIO_OPTS(opts, .buf_size = 64 << 10, .data_size = 16 << 20);
	char buf[EXPLAIN_LEN];

	(void)arg;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return 3;
	if (unshare(CLONE_NEWUSER))
		return 4;
	explain(UNIO_CALL_SETUP, -ENOMEM, &opts, buf);
	fprintf(stderr, "# memlock in a user namespace: %s\n", buf);
	return strstr(buf, "more than RLIMIT_MEMLOCK") &&
	       !strstr(buf, "does not apply") ? 0 : 2;
}

TEST(setup_memlock_user_ns)
{
	int ret = ut_in_child(memlock_user_ns_child, NULL);

	if (ret == 4)
		SKIP(return, "no user namespace for this process (chroot, or disabled)");
	EXPECT_EQ(0, ret);
}

/* NET_BIND of a region whose buffers are not the page size. */
TEST(net_bind_kernel)
{
	UNIO_OPTS(opts, .buf_size = 64 << 10, .data_size = 1 << 20);
	char buf[EXPLAIN_LEN], msg[64];
	struct unio_region *r;
	uint32_t feat;
	int ret;

	UT_REQUIRE_DEVICE();
	ASSERT_EQ(0, unio_get_features(NULL, &feat));
	if (!ut_has_cap(CAP_NET_ADMIN))
		SKIP(return, "no CAP_NET_ADMIN");
	ASSERT_EQ(0, unio_region_create(&opts, &r));
	ret = unio_net_bind(r, 1, 0, 1, msg, sizeof(msg));
	explain(UNIO_CALL_NET_BIND, ret, NULL, buf);
	if (feat & UNIFIED_IO_FEAT_NET_PROVIDER) {
		EXPECT_EQ(-EINVAL, ret);
		EXPECT_NE(NULL, strstr(buf, "page size")) TH_LOG("\"%s\"", buf);
	} else {
		EXPECT_EQ(-EOPNOTSUPP, ret);
		EXPECT_NE(NULL, strstr(buf, "UNIFIED_IO_FEAT_NET_PROVIDER"))
			TH_LOG("\"%s\"", buf);
	}
	unio_region_destroy(r);
}

/* ATTACH_BPF of a closed fd and of a file that is no BPF program. */
TEST(bpf_attach_kernel)
{
	UNIO_OPTS(opts, .buf_size = 4096, .data_size = 4 * 4096);
	char buf[EXPLAIN_LEN];
	struct unio_region *r;
	int ret, fd;

	UT_REQUIRE_DEVICE();
	if (!ut_has_cap(CAP_BPF) && !ut_has_cap(CAP_SYS_ADMIN))
		SKIP(return, "no CAP_BPF");
	ASSERT_EQ(0, unio_region_create(&opts, &r));

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ret = unio_bpf_attach(r, fd, NULL);
	EXPECT_EQ(-EINVAL, ret);
	explain(UNIO_CALL_BPF_ATTACH, ret, NULL, buf);
	EXPECT_NE(NULL, strstr(buf, "XDP program")) TH_LOG("\"%s\"", buf);
	close(fd);

	/* The fd just closed is not open any more. */
	ret = unio_bpf_attach(r, fd, NULL);
	EXPECT_EQ(-EBADF, ret);
	explain(UNIO_CALL_BPF_ATTACH, ret, NULL, buf);
	EXPECT_NE(NULL, strstr(buf, "not an open file")) TH_LOG("\"%s\"", buf);
	unio_region_destroy(r);
}

TEST_HARNESS_MAIN
