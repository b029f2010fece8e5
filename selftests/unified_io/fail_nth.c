// SPDX-License-Identifier: GPL-2.0
/*
 * Error-path sweep, in the style of the kernel's iommufd_fail_nth: for each
 * call, fail the n-th allocation the calling task makes in the kernel (the
 * fault-injection framework's /proc/self/task/TID/fail-nth, through failslab
 * and fail_page_alloc), for n = 1, 2, ... until the call gets through
 * without reaching an n-th allocation.  After every injected failure the
 * call must have failed cleanly, with ENOMEM (or succeeded, where the
 * allocation was optional), the region must be as it was and still work,
 * and at the end nothing may be left: /proc/meminfo's Mlocked and
 * Unevictable are as they were, each region's page counts (GET_INFO) match
 * its size, and the kmemleak scan that ends the debug pass
 * (selftests/run_all.sh) finds nothing.
 *
 *  region_setup	UNIFIED_IO_SETUP of a 2 MiB region that prefers a huge page
 *		(each failed huge page falls back to small ones: optional)
 *  attach_bpf	UNIFIED_IO_ATTACH_BPF (the first attach maps the data area
 *		for the programs), then a run of the chain
 *  net_bind	UNIFIED_IO_NET_BIND on the test NIC (the queue restarts with
 *		a page pool of the region's memory); needs
 *		UNIFIED_IO_FEAT_NET_PROVIDER
 *  recv	UNIFIED_IO_OP_RECV of queued TCP data, copied into buffers
 *  send	UNIFIED_IO_OP_SEND of a buffer on a loopback TCP socket (the
 *		send side's first allocations, the notification, the stack's
 *		skbs): a failed SEND queued nothing and holds nothing
 *
 * The DMA-API debugging code's own allocations are not swept (it would
 * switch itself off for the rest of the boot): the stack filter rejects
 * them.
 *
 * Needs the debug kernel's CONFIG_FAULT_INJECTION, FAILSLAB,
 * FAIL_PAGE_ALLOC and FAULT_INJECTION_DEBUG_FS (SKIP otherwise), and
 * FAULT_INJECTION_STACKTRACE_FILTER where DMA_API_DEBUG is on.  The
 * allocation failures it causes print "page allocation failure" reports;
 * the sweep writes "unified_io: fail-nth: begin" and "... end" to the
 * kernel log around each call, and tools/vm/run does not count a page
 * allocation failure report between them as a problem (any other report
 * still is).
 */
#include <bpf/bpf.h>
#include <limits.h>
#include <linux/bpf.h>
#include <sys/syscall.h>

#include "net_test.h"

#define SQ	8
#define CQ	64
#define BUF	4096
#define NBUFS	256
#define OWNER	0x6e74
#define MAX_N	5000

static int kmsg(const char *what)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	dprintf(fd, "unified_io: fail-nth: %s\n", what);
	close(fd);
	return 0;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/*
 * The text range of the DMA-API debugging code that allocates while a
 * mapping is made (dma_debug_create_entries() refilling the entry pool,
 * add_dma_entry()'s cacheline tracking node), from /proc/kallsyms: from the
 * lowest of those functions to the symbol after the highest.  0 if the
 * kernel has no DMA-API debugging, -1 if kallsyms hides addresses.
 */
static int dma_debug_text(unsigned long *start, unsigned long *end)
{
	static const char *const names[] = {
		"dma_debug_create_entries", "dma_entry_alloc", "add_dma_entry",
	};
	unsigned long lo = ULONG_MAX, hi = 0, next = ULONG_MAX, a;
	char line[256], type, name[128];
	int found = 0;
	FILE *f;

	for (int pass = 0; pass < 2; pass++) {
		f = fopen("/proc/kallsyms", "re");
		if (!f)
			return -1;
		while (fgets(line, sizeof(line), f)) {
			/* Module symbols ("name\t[mod]") are not ours. */
			if (sscanf(line, "%lx %c %127s", &a, &type, name) != 3 ||
			    strchr(line, '['))
				continue;
			if (pass == 1) {
				if ((type == 't' || type == 'T') && a > hi && a < next)
					next = a;
				continue;
			}
			for (size_t i = 0; i < UT_ARRAY_SIZE(names); i++) {
				if (strcmp(name, names[i]))
					continue;
				if (!a) {
					fclose(f);
					return -1;
				}
				found++;
				lo = a < lo ? a : lo;
				hi = a > hi ? a : hi;
			}
		}
		fclose(f);
		if (!found)
			return 0;
	}
	if (next == ULONG_MAX)
		return -1;
	*start = lo;
	*end = next;
	return 1;
}

/*
 * Every allocation counts: GFP_KERNEL ones (ignore-gfp-wait N), order 0
 * pages (min-order 0), highmem; no message per injected failure (verbose
 * 0).  Returns false if the kernel has no fault injection.
 */
static bool fi_configure(void)
{
	static const char *const set[][2] = {
		{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/failslab/verbose", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
	};
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	if (access(path, W_OK))
		return false;
	for (size_t i = 0; i < UT_ARRAY_SIZE(set); i++)
		if (write_file(set[i][0], set[i][1]))
			return false;
	return true;
}

/*
 * DMA-API debugging turns itself off for the rest of the boot when one of
 * its own GFP_ATOMIC allocations fails ("dma-debug disabled"), and every
 * later mapping would go unchecked.  Its allocating functions are kept out
 * of the count with the stack filter
 * (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER: an allocation with one of
 * them on its stack is not a fault site).  False, with the reason in
 * @why, if that cannot be done on a kernel that has DMA-API debugging.
 */
static bool fi_spare_dma_debug(const char **why)
{
	static const char *const attrs[] = {
		"/sys/kernel/debug/failslab", "/sys/kernel/debug/fail_page_alloc",
	};
	unsigned long start, end;
	char path[96], v[32];
	int ret = dma_debug_text(&start, &end);

	if (!ret)
		return true;
	*why = "kallsyms hides the DMA-API debugging code's addresses";
	if (ret < 0)
		return false;
	*why = "no stack filter (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER)";
	for (size_t i = 0; i < UT_ARRAY_SIZE(attrs); i++) {
		snprintf(path, sizeof(path), "%s/reject-start", attrs[i]);
		snprintf(v, sizeof(v), "%#lx", start);
		if (write_file(path, v))
			return false;
		snprintf(path, sizeof(path), "%s/reject-end", attrs[i]);
		snprintf(v, sizeof(v), "%#lx", end);
		if (write_file(path, v))
			return false;
		snprintf(path, sizeof(path), "%s/stacktrace-depth", attrs[i]);
		if (write_file(path, "32"))
			return false;
	}
	return true;
}

/* The n-th fault site this thread reaches fails (0: disarmed). */
static int fi_arm(int n)
{
	char path[64], v[16];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	snprintf(v, sizeof(v), "%d", n);
	return write_file(path, v);
}

/* Disarm; true if the armed failure was injected. */
static bool fi_disarm(void)
{
	char path[64], v[16] = "";
	int fd, left;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (read(fd, v, sizeof(v) - 1) < 0)
		v[0] = 0;
	left = atoi(v);
	if (write(fd, "0", 1) != 1)
		left = -1;
	close(fd);
	return left == 0;
}

/* /proc/meminfo fields, in KiB. */
static long meminfo(const char *field)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(field);

		if (!strncmp(line, field, n) && line[n] == ':') {
			v = atol(line + n + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

FIXTURE(fail) {
	long free0, mlock0, unevict0;
};

FIXTURE_SETUP(fail)
{
	UT_REQUIRE_DEVICE();
	const char *why = NULL;

	if (!fi_configure())
		SKIP(return, "no fault injection (fail-nth, failslab, fail_page_alloc)");
	ASSERT_TRUE(fi_spare_dma_debug(&why)) TH_LOG("%s", why);
	nl_kick_cpus();
	self->free0 = meminfo("MemFree");
	self->mlock0 = meminfo("Mlocked");
	self->unevict0 = meminfo("Unevictable");
}

FIXTURE_TEARDOWN(fail)
{
	long mlock, unevict, freed;

	fi_arm(0);
	kmsg("end");
	nl_kick_cpus();
	mlock = meminfo("Mlocked");
	unevict = meminfo("Unevictable");
	freed = meminfo("MemFree");
	EXPECT_EQ(self->mlock0, mlock);
	EXPECT_EQ(self->unevict0, unevict);
	/*
	 * Only said: KASAN's quarantine keeps freed objects' slabs for a while
	 * and the test NIC's own page pool refills after UNBIND, so MemFree
	 * moves by megabytes with nothing leaked.  Leaks are kmemleak's (at
	 * the end of the pass) and the page counts' above.
	 */
	TH_LOG("MemFree %ld KiB before, %ld KiB after", self->free0, freed);
}

/*
 * One swept call: @call(arg, n) arms fail-nth itself right before the
 * system call under test (so the set-up it does first is not swept) and
 * returns its result; @check(arg, ret, injected) asserts the aftermath and
 * undoes it.  Stops at the first n that injects nothing: that call must
 * have succeeded.
 */
#define SWEEP(call, check, arg) do {					\
	int __n, __ret;							\
	bool __inj;							\
	kmsg("begin");							\
	for (__n = 1; __n < MAX_N; __n++) {				\
		__ret = call(arg, __n);					\
		__inj = fi_disarm();					\
		check(_metadata, arg, __ret, __inj);			\
		if (!__inj)						\
			break;						\
		if (_metadata->exit_code != KSFT_PASS)			\
			break;						\
	}								\
	kmsg("end");							\
	ASSERT_GT(MAX_N, __n);						\
	TH_LOG("%s: %d allocations failed one at a time", #call, __n - 1); \
} while (0)

/* --- SETUP -------------------------------------------------------------- */

struct setup_ctx {
	int fd;
	struct unified_io_setup s;
};

static int setup_call(struct setup_ctx *c, int n)
{
	int ret;

	c->fd = open(UNIFIED_IO_DEVICE, O_RDWR | O_CLOEXEC);
	if (c->fd < 0)
		return -errno;
	ut_setup_init(&c->s, SQ, CQ, BUF, 2 << 20,
		       UNIFIED_IO_SETUP_F_HUGE_PAGES);
	fi_arm(n);
	ret = ut_ioctl(c->fd, UNIFIED_IO_SETUP, &c->s);
	return ret;
}

static void setup_check(struct __test_metadata *_metadata,
			struct setup_ctx *c, int ret, bool injected)
{
	struct unified_io_info info;
	struct ut_region r = { .fd = c->fd };
	__u64 off;

	if (ret) {
		EXPECT_TRUE(injected);
		EXPECT_EQ(-ENOMEM, ret) TH_LOG("SETUP: %s", strerror(-ret));
		/* Nothing was built: GET_INFO says so, SETUP works now. */
		ASSERT_EQ(0, ut_get_info(c->fd, &info));
		EXPECT_EQ(0U, info.layout.nr_bufs);
		ut_setup_init(&c->s, SQ, CQ, BUF, 2 << 20,
			       UNIFIED_IO_SETUP_F_HUGE_PAGES);
		ASSERT_EQ(0, ut_ioctl(c->fd, UNIFIED_IO_SETUP, &c->s));
	}
	/* The region works: mapped, ALLOC and FREE round trips. */
	r.setup = c->s;
	r.l = c->s.layout;
	r.map_len = r.l.region_size;
	r.map = mmap(NULL, r.map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     r.fd, 0);
	ASSERT_NE(MAP_FAILED, r.map);
	ut_region_wire(&r);
	ASSERT_EQ(0, ut_get_info(c->fd, &info));
	EXPECT_EQ(r.l.nr_bufs, info.stats.bufs_free);
	EXPECT_EQ(r.l.data_size >> 12,
		  (__u64)info.config.huge_pages * 512 + info.config.small_pages);
	ASSERT_EQ(BUF, ut_alloc(&r, OWNER, &off));
	ASSERT_EQ(0, ut_free(&r, OWNER, off));
	ut_region_destroy(&r);
}

TEST_F_TIMEOUT(fail, region_setup, 600)
{
	struct setup_ctx c;

	SWEEP(setup_call, setup_check, &c);
}

/* --- ATTACH_BPF ------------------------------------------------------------ */

struct bpf_ctx {
	struct ut_region r;
	int prog;
	__u64 off;
};

static int bpf_call(struct bpf_ctx *c, int n)
{
	struct unified_io_bpf b = { .size = sizeof(b), .prog_fd = c->prog };

	fi_arm(n);
	return ut_ioctl(c->r.fd, UNIFIED_IO_ATTACH_BPF, &b);
}

static void bpf_check(struct __test_metadata *_metadata, struct bpf_ctx *c,
		      int ret, bool injected)
{
	struct unified_io_bpf b = { .size = sizeof(b), .prog_fd = c->prog };
	struct unified_io_desc d = {};
	struct unified_io_cqe cqe;
	struct unified_io_info info;

	ASSERT_EQ(0, ut_get_info(c->r.fd, &info));
	if (ret) {
		EXPECT_TRUE(injected);
		EXPECT_EQ(-ENOMEM, ret) TH_LOG("ATTACH_BPF: %s", strerror(-ret));
		EXPECT_EQ(0U, info.nr_bpf_progs);
		ASSERT_EQ(0, ut_ioctl(c->r.fd, UNIFIED_IO_ATTACH_BPF, &b));
	} else {
		EXPECT_EQ(1U, info.nr_bpf_progs);
	}
	/* The chain runs over the buffer, then goes. */
	d.opcode = UNIFIED_IO_OP_BPF;
	d.owner = OWNER;
	d.addr = c->off;
	d.len = 64;
	d.user_data = 7;
	EXPECT_EQ(64, ut_do(&c->r, &d, &cqe));
	/* By descriptor: ATTACH wrote the id into b, and DETACH takes one. */
	b.prog_fd = c->prog;
	b.prog_id = 0;
	ASSERT_EQ(0, ut_ioctl(c->r.fd, UNIFIED_IO_DETACH_BPF, &b));
}

TEST_F_TIMEOUT(fail, attach_bpf, 600)
{
	struct bpf_insn pass[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bpf_ctx c = {};

	if (!ut_region_create(&c.r, SQ, CQ, BUF, NBUFS * BUF, 0))
		return;
	c.prog = bpf_prog_load(BPF_PROG_TYPE_XDP, "pass", "GPL", pass, 2, NULL);
	ASSERT_LE(0, c.prog) TH_LOG("loading an XDP program: %s", strerror(errno));
	ASSERT_EQ(BUF, ut_alloc(&c.r, OWNER, &c.off));
	SWEEP(bpf_call, bpf_check, &c);
	close(c.prog);
	ut_region_destroy(&c.r);
}

/* --- NET_BIND --------------------------------------------------------------- */

struct bind_ctx {
	struct nl_pair p;
	struct nl_region r;
	char msg[64];
};

static int bind_call(struct bind_ctx *c, int n)
{
	struct unified_io_net_bind b = {
		.size = sizeof(b),
		.ifindex = c->p.rx_ifindex,
		.rxq = NT_ZC_QUEUE,
		.nr_bufs = 64,
	};
	int ret;

	fi_arm(n);
	ret = nl_bind_raw(c->r.fd, UNIFIED_IO_NET_BIND, &b);
	memcpy(c->msg, b.msg, sizeof(c->msg));
	return ret;
}

static void bind_check(struct __test_metadata *_metadata, struct bind_ctx *c,
		       int ret, bool injected)
{
	struct unified_io_info info;
	uint64_t end = nl_now_ms() + 20000;
	char msg[64];
	int again;

	if (ret) {
		EXPECT_TRUE(injected);
		EXPECT_EQ(-ENOMEM, ret) TH_LOG("NET_BIND: %s (%.64s)",
					       strerror(-ret), c->msg);
		nt_info(&c->r, &info);
		EXPECT_NE((__u32)UNIFIED_IO_NET_BOUND, info.net.state);
		/* Nothing the failed BIND lent stays out: BIND works. */
		while ((again = nl_bind(&c->r, c->p.rx_ifindex, NT_ZC_QUEUE, 64,
					msg)) == -EBUSY && nl_now_ms() < end) {
			nl_kick_cpus();
			usleep(50000);
		}
		ASSERT_EQ(0, again) TH_LOG("BIND after the failure: %s (%.64s)",
					   strerror(-again), msg);
	}
	nt_info(&c->r, &info);
	EXPECT_EQ((__u32)UNIFIED_IO_NET_BOUND, info.net.state);
	EXPECT_EQ(64U, info.net.nr_bufs);
	EXPECT_EQ(NBUFS - 64U, info.stats.bufs_free);
	ASSERT_EQ(0, nl_unbind(&c->r, msg)) TH_LOG("%.64s", msg);
	/* Home before the next round's BIND. */
	end = nl_now_ms() + 20000;
	while (nl_now_ms() < end) {
		nt_info(&c->r, &info);
		if (info.net.bufs_nic == info.net.nr_bufs && !info.net.bufs_app)
			break;
		nl_kick_cpus();
		usleep(50000);
	}
}

TEST_F_TIMEOUT(fail, net_bind, 1800)
{
	struct bind_ctx c = { .r.fd = -1 };

	if (!(nt_features() & UNIFIED_IO_FEAT_NET_PROVIDER))
		SKIP(return, "kernel without UNIFIED_IO_FEAT_NET_PROVIDER");
	if (!nt_pair_create(&c.p, "unionic"))
		return;
	if (!nt_region_create(&c.r, SQ, CQ, BUF, NBUFS))
		return;
	SWEEP(bind_call, bind_check, &c);
	nl_region_destroy(&c.r);
	nl_pair_destroy(&c.p);
}

/* --- RECV ----------------------------------------------------------------- */

struct recv_ctx {
	struct nl_region r;
	int cli, srv;
	struct nl_chunk ch[16];
	unsigned int nr;
	int32_t res;
	char err[256];
};

static int recv_call(struct recv_ctx *c, int n)
{
	struct unified_io_desc d;
	int ret;

	/* 3000 bytes queued for each round. */
	if (nt_write_pattern(c->cli, 0, 0, 3000) || nt_wait_inq(c->srv, 3000, 5000) != 3000)
		return -EIO;
	nl_prep_recv(&d, c->srv, OWNER, 0, 0, 0x7ecf);
	fi_arm(n);
	ret = nl_submit_inline(&c->r, &d);
	return ret == 1 ? 0 : ret;
}

static void recv_check(struct __test_metadata *_metadata, struct recv_ctx *c,
		       int ret, bool injected)
{
	struct unified_io_info info;
	struct unified_io_cqe *cqe;
	uint64_t got = 0;
	long q;

	ASSERT_EQ(0, ret) TH_LOG("SUBMIT of RECV: %s", strerror(-ret));
	/* The chunks and the final completion; a failed RECV took nothing. */
	while ((cqe = unio_peek_cqe(&c->r.q))) {
		if (cqe->flags & UNIFIED_IO_CQE_F_MORE) {
			ASSERT_LT(0, cqe->res);
			got += cqe->res;
			c->ch[c->nr].addr = cqe->addr;
			c->ch[c->nr++].res = cqe->res;
			unio_cqe_seen(&c->r.q);
			continue;
		}
		c->res = cqe->res;
		unio_cqe_seen(&c->r.q);
		break;
	}
	if (c->res < 0) {
		EXPECT_TRUE(injected);
		EXPECT_EQ(-ENOMEM, c->res);
		EXPECT_EQ(0U, got);
		q = nt_inq(c->srv);
		EXPECT_EQ(3000, q) TH_LOG("a failed RECV took bytes");
		/* Read them away for the next round. */
		for (long left = q; left > 0; ) {
			char drain[4096];
			ssize_t n = recv(c->srv, drain, sizeof(drain), 0);

			ASSERT_LT(0, n) TH_LOG("draining: %s", strerror(errno));
			left -= n;
		}
	} else {
		EXPECT_EQ(3000, c->res);
		EXPECT_EQ(3000U, got);
	}
	for (unsigned int i = 0; i < c->nr; i++) {
		uint64_t off = c->ch[i].addr - c->ch[i].addr % BUF;

		EXPECT_EQ(0, nl_free_bufs(&c->r, OWNER, &off, 1));
	}
	c->nr = 0;
	nt_info(&c->r, &info);
	EXPECT_EQ((__u32)NBUFS, info.stats.bufs_free);
}

TEST_F_TIMEOUT(fail, recv, 600)
{
	struct recv_ctx c = { .r.fd = -1 };

	if (!(nt_features() & UNIFIED_IO_FEAT_NET_RECV))
		SKIP(return, "no UNIFIED_IO_FEAT_NET_RECV");
	if (!nt_region_create(&c.r, SQ, CQ, BUF, NBUFS))
		return;
	nt_lo_pair(7990, &c.cli, &c.srv);
	SWEEP(recv_call, recv_check, &c);
	close(c.cli);
	close(c.srv);
	nl_region_destroy(&c.r);
}

/* --- SEND ----------------------------------------------------------------- */

#define SEND_LEN	3000

struct send_ctx {
	struct nl_region r;
	int cli, srv;
	uint64_t off;			/* the buffer sent */
	uint64_t sent;			/* stream offset of the next byte */
	int32_t res;
};

static int send_call(struct send_ctx *c, int n)
{
	struct unified_io_desc d = {
		.opcode		= UNIFIED_IO_OP_SEND,
		.owner		= OWNER,
		.len		= SEND_LEN,
		.addr		= c->off,
		.user_data	= 0x5e2d,
	};
	int ret;

	/* The buffer holds the pattern's next bytes. */
	nl_pattern_fill(0, c->sent, c->r.map + c->r.l.data_off + c->off,
			SEND_LEN);
	d.net.fd = c->cli;
	fi_arm(n);
	ret = nl_submit_inline(&c->r, &d);
	return ret == 1 ? 0 : ret;
}

static void send_check(struct __test_metadata *_metadata, struct send_ctx *c,
		       int ret, bool injected)
{
	const struct unified_io_buf_entry *e;
	struct unified_io_info info;
	struct unified_io_cqe *cqe;
	char got[SEND_LEN];
	size_t have = 0;

	ASSERT_EQ(0, ret) TH_LOG("SUBMIT of SEND: %s", strerror(-ret));
	cqe = unio_peek_cqe(&c->r.q);
	ASSERT_NE(NULL, cqe);
	c->res = cqe->res;
	EXPECT_EQ(UNIFIED_IO_OP_SEND, cqe->opcode);
	EXPECT_EQ(c->res > 0, !!(cqe->flags & UNIFIED_IO_CQE_F_MORE));
	unio_cqe_seen(&c->r.q);
	if (c->res <= 0) {
		EXPECT_TRUE(injected);
		/* Ours (ENOMEM), or TCP's: no skb, and no waiting (EAGAIN). */
		EXPECT_TRUE(c->res == -ENOMEM || c->res == -EAGAIN)
			TH_LOG("SEND: %d (%s)", c->res, strerror(-c->res));
	} else {
		/* All of it, or (a later skb failed) a part of it. */
		EXPECT_GE(SEND_LEN, c->res);
		EXPECT_TRUE(c->res == SEND_LEN || injected);
		/* A dropped segment comes back by retransmission. */
		ASSERT_EQ(c->res, nt_wait_inq(c->srv, c->res, 10000));
		while (have < (size_t)c->res) {
			ssize_t n = recv(c->srv, got + have, c->res - have, 0);

			ASSERT_LT(0, n) TH_LOG("recv: %s", strerror(errno));
			have += n;
		}
		EXPECT_EQ(-1, nl_pattern_check(0, c->sent, got, have, 0));
		c->sent += have;
		/* The notification, once the stack let go of the pages. */
		ASSERT_LE(1, nl_complete(&c->r, 1, 10000000000ULL));
		cqe = unio_peek_cqe(&c->r.q);
		ASSERT_NE(NULL, cqe);
		EXPECT_EQ((__u32)UNIFIED_IO_CQE_F_NOTIF,
			  cqe->flags & ~UNIFIED_IO_CQE_F_COPIED);
		EXPECT_EQ(c->res, cqe->res);
		EXPECT_EQ(0x5e2dULL, cqe->user_data);
		unio_cqe_seen(&c->r.q);
	}
	/* Nothing queued or in flight: the buffer is the owner's again. */
	EXPECT_EQ(0, nt_inq(c->srv));
	EXPECT_EQ(NULL, unio_peek_cqe(&c->r.q));
	e = &c->r.bt[c->off / BUF];
	EXPECT_EQ(UNIFIED_IO_BUF_APP, e->state);
	EXPECT_EQ(1, e->refs);
	nt_info(&c->r, &info);
	EXPECT_EQ(0U, info.send.inflight);
	EXPECT_EQ(0U, info.send.bufs_sending);
}

TEST_F_TIMEOUT(fail, send, 600)
{
	struct send_ctx c = { .r.fd = -1 };
	struct unified_io_desc d = { .opcode = UNIFIED_IO_OP_ALLOC,
				     .owner = OWNER };
	struct unified_io_cqe *cqe;

	if (!(nt_features() & UNIFIED_IO_FEAT_NET_SEND))
		SKIP(return, "no UNIFIED_IO_FEAT_NET_SEND");
	if (!nt_region_create(&c.r, SQ, CQ, BUF, NBUFS))
		return;
	ASSERT_EQ(1, nl_submit_inline(&c.r, &d));
	cqe = unio_peek_cqe(&c.r.q);
	ASSERT_NE(NULL, cqe);
	ASSERT_EQ(BUF, cqe->res);
	c.off = cqe->addr;
	unio_cqe_seen(&c.r.q);
	nt_lo_pair(7991, &c.cli, &c.srv);
	SWEEP(send_call, send_check, &c);
	EXPECT_EQ(0, nl_free_bufs(&c.r, OWNER, &c.off, 1));
	close(c.cli);
	close(c.srv);
	nl_region_destroy(&c.r);
}

TEST_HARNESS_MAIN
