// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetimes: close() while a thread waits in COMPLETE or poll(), close()
 * while mapped, munmap() before close(), the last unmap freeing the region
 * (and its RLIMIT_MEMLOCK charge), fork()+exit orders, and module unload
 * refused while a region is open or mapped.
 *
 * The module-unload test runs last: were unload to succeed (a bug), the
 * device would be gone for whatever runs after it.
 */
#include "ut.h"

#define SQ	8
#define CQ	16
#define BUF	4096
#define NBUFS	16

static void on_signal(int sig)
{
	(void)sig;
}

static void install_handler(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: the ioctl must see EINTR */
	sigaction(SIGUSR1, &sa, NULL);
}

FIXTURE(life) {
	struct ut_region r;
};

FIXTURE_SETUP(life)
{
	install_handler();
	if (!ut_region_create(&self->r, SQ, CQ, BUF, NBUFS * BUF, 0))
		return;
}

FIXTURE_TEARDOWN(life)
{
	ut_region_destroy(&self->r);
}

struct waiter {
	int fd;
	__u64 timeout_ns;
	volatile int state;	/* 0 not started, 1 calling, 2 returned */
	int ret;
	__u32 ready;
};

static void *complete_thread(void *arg)
{
	struct waiter *w = arg;

	w->state = 1;
	w->ret = ut_complete(w->fd, 1, w->timeout_ns, &w->ready);
	w->state = 2;
	return NULL;
}

/* Give the waiter a moment to be inside the ioctl and asleep. */
static void let_it_sleep(struct waiter *w)
{
	while (w->state == 0)
		usleep(1000);
	usleep(300000);
}

TEST_F_TIMEOUT(life, close_with_waiter_then_signal, 120)
{
	struct waiter w = { .fd = self->r.fd, .timeout_ns = 60ULL * 1000000000ULL };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, complete_thread, &w));
	let_it_sleep(&w);
	/* close() does not wake the waiter... */
	ASSERT_EQ(0, close(self->r.fd));
	self->r.fd = -1;
	usleep(100000);
	EXPECT_EQ(1, w.state);
	/* ...a signal does. */
	ASSERT_EQ(0, pthread_kill(t, SIGUSR1));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-EINTR, w.ret);
	/* The mapping still works; teardown unmaps it. */
	EXPECT_EQ((__u32)UNIFIED_IO_ABI_VERSION, self->r.config->abi_version);
}

TEST_F_TIMEOUT(life, close_with_waiter_then_timeout, 120)
{
	struct waiter w = { .fd = self->r.fd, .timeout_ns = 800 * 1000000ULL };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, complete_thread, &w));
	let_it_sleep(&w);
	ASSERT_EQ(0, close(self->r.fd));
	self->r.fd = -1;
	/* Unmap too: the waiter's file reference is all that is left. */
	ASSERT_EQ(0, munmap(self->r.map, self->r.map_len));
	self->r.map = NULL;
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-ETIME, w.ret);
	EXPECT_EQ(0U, w.ready);
}

TEST_F_TIMEOUT(life, waiter_interrupted, 120)
{
	struct waiter w = { .fd = self->r.fd, .timeout_ns = 0 /* no limit */ };
	struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, complete_thread, &w));
	let_it_sleep(&w);
	EXPECT_EQ(1, w.state);
	ASSERT_EQ(0, pthread_kill(t, SIGUSR1));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-EINTR, w.ret);
	/* The context is fine afterwards. */
	ASSERT_EQ(1, ut_submit_inline(self->r.fd, &nop));
	EXPECT_EQ(1, ut_complete(self->r.fd, 1, 0, NULL));
}

struct poller {
	int fd;
	int ret;
};

static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

	p->ret = poll(&pfd, 1, 1500);
	return NULL;
}

TEST_F_TIMEOUT(life, close_with_poller, 120)
{
	struct poller p = { .fd = self->r.fd, .ret = -2 };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, poll_thread, &p));
	usleep(300000);
	ASSERT_EQ(0, close(self->r.fd));
	self->r.fd = -1;
	ASSERT_EQ(0, munmap(self->r.map, self->r.map_len));
	self->r.map = NULL;
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_LE(0, p.ret);
}

/* Close with work outstanding everywhere: SQ, CQ, buffers. */
TEST_F(life, close_with_work_outstanding)
{
	struct ut_region *r = &self->r;
	struct unified_io_desc *d;
	__u64 off;

	ASSERT_EQ(BUF, ut_alloc(r, 1, &off));
	ASSERT_EQ(BUF, ut_alloc(r, 2, &off));
	for (int i = 0; i < 3; i++) {
		d = unio_get_sqe(&r->q);
		unio_prep_nop(d, i);
	}
	unio_sq_flush(&r->q);
	ASSERT_EQ(2, ut_submit(r->fd, 2));	/* one left queued */
	EXPECT_EQ(2U, unio_cq_ready(&r->q));	/* two unreaped */
	ASSERT_EQ(0, close(r->fd));
	r->fd = -1;
	((__u8 *)r->q.data)[off] = 1;
	ASSERT_EQ(0, munmap(r->map, r->map_len));
	r->map = NULL;
}

/* munmap() before close(), in both orders, many times. */
TEST(open_map_close_cycles)
{
	for (int i = 0; i < 24; i++) {
		struct ut_region r;

		if (!ut_region_create(&r, SQ, CQ, BUF, NBUFS * BUF, 0))
			return;
		ASSERT_EQ(BUF, ut_alloc(&r, 1, NULL));
		switch (i % 3) {
		case 0:	/* munmap, close */
			ASSERT_EQ(0, munmap(r.map, r.map_len));
			ASSERT_EQ(0, close(r.fd));
			break;
		case 1:	/* close, munmap */
			ASSERT_EQ(0, close(r.fd));
			ASSERT_EQ(0, munmap(r.map, r.map_len));
			break;
		default: /* close, touch, munmap in pieces */
			ASSERT_EQ(0, close(r.fd));
			r.map[r.l.data_off] = 1;
			ASSERT_EQ(0, munmap(r.map + r.l.data_off,
					    r.map_len - r.l.data_off));
			ASSERT_EQ(0, munmap(r.map, r.l.data_off));
			break;
		}
	}
}

/*
 * The mapping keeps the region, and its RLIMIT_MEMLOCK charge, alive after
 * close(); the last unmap releases both. Room for one region under the
 * limit: a second SETUP fails while the first is mapped, works after.
 */
#define CH_BUF	(64 << 10)
#define CH_DATA	(8ULL << 20)

static int map_and_close(__u8 **map, __u64 *len)
{
	struct unified_io_setup s;
	int fd = open(UNIFIED_IO_DEVICE, O_RDWR);

	if (fd < 0)
		return -errno;
	ut_setup_init(&s, SQ, 0, CH_BUF, CH_DATA, 0);
	if (ut_ioctl(fd, UNIFIED_IO_SETUP, &s)) {
		close(fd);
		return -1000;
	}
	*len = s.layout.region_size;
	*map = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return *map == MAP_FAILED ? -errno : 0;
}

static int last_unmap_child(void *arg)
{
	struct rlimit lim = { CH_DATA + (2ULL << 20), CH_DATA + (2ULL << 20) };
	struct unified_io_setup s;
	__u64 len;
	__u8 *map;
	int fd, ret = 0;

	if (ut_drop_cap(CAP_IPC_LOCK) && ut_has_cap(CAP_IPC_LOCK))
		return 10;
	if (setrlimit(RLIMIT_MEMLOCK, &lim))
		return 11;

	/* 1: closed, then unmapped: the charge goes back at the unmap. */
	if (map_and_close(&map, &len))
		return 12;
	map[0] = map[len - 1];
	munmap(map, len);
	fd = open(UNIFIED_IO_DEVICE, O_RDWR);
	if (fd < 0)
		return 13;
	/* Allow the kernel a moment if it frees asynchronously. */
	for (int i = 0; i < 100; i++) {
		ut_setup_init(&s, SQ, 0, CH_BUF, CH_DATA, 0);
		ret = ut_ioctl(fd, UNIFIED_IO_SETUP, &s);
		if (ret != -ENOMEM)
			break;
		usleep(10000);
	}
	close(fd);
	if (ret) {
		fprintf(stderr, "# region after the last unmap of another: %d (charge not released?)\n",
			ret);
		return 14;
	}

	/* 2: closed but mapped: the region, and its charge, are still there. */
	if (map_and_close(&map, &len))
		return 15;
	fd = open(UNIFIED_IO_DEVICE, O_RDWR);
	if (fd < 0)
		return 16;
	ut_setup_init(&s, SQ, 0, CH_BUF, CH_DATA, 0);
	ret = ut_ioctl(fd, UNIFIED_IO_SETUP, &s);
	close(fd);
	munmap(map, len);
	if (ret != -ENOMEM) {
		fprintf(stderr, "# second region while the first is mapped: %d, want %d\n",
			ret, -ENOMEM);
		return 17;
	}
	return 0;
}

TEST(last_unmap_frees_region)
{
	UT_REQUIRE_DEVICE();
	ASSERT_EQ(0, ut_in_child(last_unmap_child, NULL));
}

/* --- fork ------------------------------------------------------------------- */

/* The parent closes and unmaps at once; the child carries on alone. */
TEST_F(life, fork_parent_lets_go)
{
	struct ut_region *r = &self->r;
	int status;
	pid_t pid;

	r->map[r->l.data_off] = 0x31;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct unified_io_desc nop = { .opcode = UNIFIED_IO_OP_NOP,
					       .user_data = 0x77 };
		struct unified_io_setup s;
		struct unified_io_cqe *c;

		usleep(200000);
		if (r->map[r->l.data_off] != 0x31)
			_exit(10);
		if (ut_submit_inline(r->fd, &nop) != 1)
			_exit(11);
		c = unio_peek_cqe(&r->q);
		if (!c || c->user_data != 0x77)
			_exit(12);
		unio_cqe_seen(&r->q);
		/* Same context: SETUP is EBUSY. */
		ut_setup_init(&s, SQ, 0, BUF, NBUFS * BUF, 0);
		if (ut_ioctl(r->fd, UNIFIED_IO_SETUP, &s) != -EBUSY)
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(0, close(r->fd));
	r->fd = -1;
	ASSERT_EQ(0, munmap(r->map, r->map_len));
	r->map = NULL;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* The child keeps only the mapping; both exit in turn. */
TEST_F(life, fork_child_mapping_only)
{
	struct ut_region *r = &self->r;
	int status, pipefd[2];
	pid_t pid;
	char c = 0;

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(r->fd);
		close(pipefd[1]);
		if (read(pipefd[0], &c, 1) != 1)
			_exit(10);
		/* The parent has closed and unmapped by now. */
		for (__u64 i = 0; i < r->l.data_size; i += 4096)
			r->map[r->l.data_off + i] = (__u8)i;
		for (__u64 i = 0; i < r->l.data_size; i += 4096)
			if (r->map[r->l.data_off + i] != (__u8)i)
				_exit(11);
		_exit(0);
	}
	close(pipefd[0]);
	ASSERT_EQ(0, close(r->fd));
	r->fd = -1;
	ASSERT_EQ(0, munmap(r->map, r->map_len));
	r->map = NULL;
	ASSERT_EQ(1, write(pipefd[1], &c, 1));
	close(pipefd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* --- module unload ------------------------------------------------------------ */

static int try_unload(void)
{
	return syscall(SYS_delete_module, "unified_io", O_NONBLOCK) ? -errno : 0;
}

TEST_F(life, module_unload_refused)
{
	struct ut_region *r = &self->r;
	struct unified_io_desc d = {};
	struct unified_io_cqe cqe;
	int ret;

	if (!ut_has_cap(CAP_SYS_MODULE))
		SKIP(return, "no CAP_SYS_MODULE");

	/* Open and mapped. */
	ret = try_unload();
	if (ret == -ENOENT)
		SKIP(return, "no module named unified_io (built in?)");
	ASSERT_NE(0, ret) TH_LOG("the module unloaded under an open region");
	EXPECT_TRUE(ret == -EBUSY || ret == -EWOULDBLOCK) TH_LOG("delete_module: %d", ret);
	/* The region still works after the failed attempt. */
	unio_prep_nop(&d, 0xbeef);
	ASSERT_EQ(0, ut_do(r, &d, &cqe));
	ASSERT_EQ(BUF, ut_alloc(r, 9, NULL));

	/* Mapped only. */
	r->map[r->l.data_off] = 0x99;
	ASSERT_EQ(0, close(r->fd));
	r->fd = -1;
	ret = try_unload();
	ASSERT_NE(0, ret) TH_LOG("the module unloaded under a live mapping");
	EXPECT_TRUE(ret == -EBUSY || ret == -EWOULDBLOCK) TH_LOG("delete_module: %d", ret);
	EXPECT_EQ(0x99, r->map[r->l.data_off]);
	EXPECT_EQ((__u32)UNIFIED_IO_ABI_VERSION, r->config->abi_version);

	/* Open without a region. */
	ASSERT_EQ(0, munmap(r->map, r->map_len));
	r->map = NULL;
	r->fd = open(UNIFIED_IO_DEVICE, O_RDWR);
	ASSERT_LE(0, r->fd);
	ret = try_unload();
	ASSERT_NE(0, ret) TH_LOG("the module unloaded under an open file");
	EXPECT_TRUE(ret == -EBUSY || ret == -EWOULDBLOCK);
}

TEST_HARNESS_MAIN
