/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the unified_io network selftests (net_*.c): network namespaces and
 * a test NIC pair between them, a sender process writing a deterministic
 * pattern per flow, and a receiver that drives the raw ABI (RECV descriptors,
 * completions, the refill ring, FREE) and verifies every byte.
 *
 * Nothing here asserts: every function returns 0 (or a count) or a negative
 * errno and, where a reason helps, writes one into a caller's buffer. The
 * kselftest harness stays in the tests (and net_test.h), so these helpers
 * may run in forked
 * children (the sender, a receiver that is killed), where an ASSERT would
 * run the fixture's teardown in the wrong process.
 *
 * Object model:
 *  - struct nl_pair: two network namespaces (rx, tx) and a link pair
 *    between them. The calling process enters the rx namespace and stays
 *    there; the tx side is reached by fork() + setns(). The namespaces are
 *    held by file descriptors only, so they and every device in them go
 *    away when the test process dies, whatever killed it.
 *  - struct nl_sender: a child in the tx namespace with one thread per
 *    flow; progress in shared memory.
 *  - struct nl_region: one region, mapped whole, with its refill ring.
 *  - struct nl_rx: a receive loop over a set of flows of one region.
 *
 * Files: net_lib.c (commands, namespaces, the pair, ethtool, /proc/net),
 * net_sys.c (page pools, deferred skb frees, /proc/meminfo, modules),
 * net_flow.c (the pattern, sockets, the sender), net_region.c (the region,
 * BIND, SUBMIT, RECV, FREE, the refill ring), net_rx.c (the receive loop).
 */
#ifndef NET_LIB_H
#define NET_LIB_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/unified_io.h>

#include "unifiedio.h"

#define NL_MAX_FLOWS		8
#define NL_ERR_LEN		512
#define NL_BASE_PORT		7700	/* listening port of the rx side */
#define NL_SRC_PORT		41000	/* flow i connects from this + i */

/* --- commands and namespaces -------------------------------------------- */

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t nl_now_ms(void);

/*
 * Run "/bin/sh -c CMD" in the network namespace @nsfd (-1: the caller's),
 * with stdout and stderr captured into @out (NUL-terminated, truncated to
 * @outlen; may be NULL). Returns the exit status (0-255; 128 + signal) or a
 * negative errno when it could not run.
 */
int nl_sh(int nsfd, char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Run "ip -batch -" in @nsfd (-1: the caller's) with @batch (lines of ip
 * commands, under 4 KiB) as input; like nl_sh() otherwise.  ip stops at the
 * first command that fails.
 */
int nl_ip_batch(int nsfd, char *out, size_t outlen, const char *batch);

/* Whether PATH has an executable @name (command -v without a shell). */
bool nl_have_program(const char *name);

/* A new network namespace with lo up, as an fd; the caller stays put. */
int nl_netns_new(void);

/* Move the calling process into @nsfd. */
int nl_netns_enter(int nsfd);

/* Set lo up in the caller's namespace. */
int nl_lo_up(void);

struct nl_pair {
	int ns_orig;			/* the namespace the caller came from */
	int ns_rx;			/* the caller's namespace now */
	int ns_tx;
	bool linked;			/* the pair exists (for destroy) */
	char kind[16];
	char rx_if[IF_NAMESIZE];	/* in ns_rx */
	char tx_if[IF_NAMESIZE];	/* in ns_tx */
	int rx_ifindex;
	int tx_ifindex;			/* in ns_tx */
	unsigned int nr_rxq;		/* receive queues of rx_if in use */
	struct in_addr rx_addr, tx_addr;
	char err[NL_ERR_LEN];
};

/*
 * Two namespaces and a link pair of @kind ("unionic": NAME and NAME+"p";
 * "veth"), rx_if in the rx namespace with 10.77.0.1/24, tx_if in the tx
 * namespace with 10.77.0.2/24, both up. The caller enters the rx namespace.
 * Returns -EOPNOTSUPP when the kernel does not know @kind.
 */
int nl_pair_create(struct nl_pair *p, const char *kind);

/* Delete the link (if still there), go back to ns_orig, close the fds. */
void nl_pair_destroy(struct nl_pair *p);

/* Create a veth pair NAME/PEER in the caller's namespace. */
int nl_veth_add(const char *name, const char *peer, char *err, size_t len);

/* ethtool wrappers on rx_if (in the caller's namespace). */
int nl_set_hds(struct nl_pair *p, bool on);
int nl_steer(struct nl_pair *p, uint16_t dport, unsigned int queue);

/* Per-queue counters of the unio_nic's ethtool -S (rx<Q>_<name>). */
struct nl_qstats {
	uint64_t packets, bytes, drops, alloc_fail;
	uint64_t hds_packets, hds_bytes;	/* payload in pool buffers */
	uint64_t ring_full;
	unsigned int found;		/* counters found; all or -ENOENT */
};

int nl_queue_stats(struct nl_pair *p, unsigned int queue,
		   struct nl_qstats *st);

/* A counter of /proc/net/snmp ("Tcp", "RetransSegs") in namespace @nsfd. */
int nl_snmp(int nsfd, const char *group, const char *field, uint64_t *val);

/* Page pools of the caller's namespace (netdev netlink, page-pool-get). */
struct nl_pp {
	uint32_t id;
	uint32_t ifindex;		/* 0 when not reported */
	uint64_t inflight;
	uint64_t inflight_mem;
	uint64_t detach_time;		/* 0: attached */
	bool io_uring;
};

int nl_page_pools(struct nl_pp *pools, int max);

/*
 * Run the network receive softirq once on every CPU the caller may use (a
 * datagram over lo from each), which frees the skbs other CPUs deferred to
 * it (skb_attempt_defer_free) and with them their pages.
 */
int nl_kick_cpus(void);

/* /proc/meminfo MemFree in KiB. */
long nl_mem_free_kb(void);

/* Module refcount (/sys/module/NAME/refcnt), or -errno. */
int nl_module_refcnt(const char *name);

/*
 * Where the modules of the running kernel are: $UNIFIED_IO_KMOD_DIR (set by
 * tools/vm/run for another kernel), else $UNIFIED_IO_REPO; NULL if neither.
 * unified_io.ko and unio_nic.ko are under drivers/ there.
 */
const char *nl_kmod_dir(void);

/* Load unio_nic unless it is loaded; -errno with a reason in @err. */
int nl_nic_load(char *err, size_t len);

/*
 * Unload unified_io (and unio_nic with @nic), retrying for up to @timeout_ms
 * while their references drop (page pools release asynchronously).
 */
int nl_modules_unload(int timeout_ms, bool nic, char *err, size_t len);

/* Load what is not loaded of unified_io (and unio_nic); wait for the node. */
int nl_modules_load(bool nic, char *err, size_t len);

/* --- the data pattern --------------------------------------------------- */

/* Byte @off of flow @flow's stream, bulk versions. */
void nl_pattern_fill(uint32_t flow, uint64_t off, void *buf, size_t len);
/* Index of the first byte of @buf that differs from the pattern, or -1. */
long nl_pattern_check(uint32_t flow, uint64_t off, const void *buf,
		      size_t len, uint8_t xor);
uint8_t nl_pattern_byte(uint32_t flow, uint64_t off);

/* --- sockets and the sender ---------------------------------------------- */

/* A TCP socket listening on @addr:@port (backlog 16), or -errno. */
int nl_listen(struct in_addr addr, uint16_t port);
/* The same with SO_RCVBUF @rcvbuf (if > 0), which accepted sockets inherit. */
int nl_listen_rcvbuf(struct in_addr addr, uint16_t port, int rcvbuf);

/*
 * Accept @n connections from the sender; the flow of each is its source
 * port - NL_SRC_PORT. socks[flow] gets the socket (O_NONBLOCK).
 */
int nl_accept_flows(int lsock, int n, int *socks, int timeout_ms);

struct nl_flow_state {
	volatile uint64_t sent;
	volatile int err;		/* errno of a failed call, 0 */
	volatile int done;		/* 1: sent everything and closed */
};

struct nl_sender_shared {
	volatile int stop;		/* the flows close at once */
	volatile int pause;		/* the flows stop writing while set */
	struct nl_flow_state flow[NL_MAX_FLOWS];
};

struct nl_sender_opts {
	int nsfd;			/* -1: the caller's namespace */
	struct in_addr dst;
	uint16_t dport;
	int nr_flows;
	uint64_t bytes;			/* per flow */
	bool linger0;			/* close with RST (SO_LINGER 0) */
	int sndbuf;			/* SO_SNDBUF if > 0: bounds what is in
					 * flight once the flow pauses */
};

struct nl_sender {
	pid_t pid;
	int nr_flows;
	struct nl_sender_shared *sh;
};

/*
 * Fork a sender: in namespace @o->nsfd, flow i connects from port
 * NL_SRC_PORT + i to dst:dport, writes @o->bytes of pattern @i and closes.
 * The child exits 0 when every flow sent everything.
 */
int nl_sender_start(struct nl_sender *s, const struct nl_sender_opts *o);
/* Wait up to @timeout_ms; returns the exit status or -ETIMEDOUT. */
int nl_sender_wait(struct nl_sender *s, int timeout_ms);
void nl_sender_kill(struct nl_sender *s);
uint64_t nl_sender_sent(const struct nl_sender *s);

/* --- the region ---------------------------------------------------------- */

struct nl_region {
	int fd;
	struct unified_io_setup setup;
	struct unified_io_region_layout l;
	struct unified_io_ring_offsets rl;	/* the refill ring */
	uint8_t *map;
	size_t map_len;
	struct unio_queue q;
	struct unified_io_buf_entry *bt;
	uint32_t *rf_khead, *rf_ktail;
	struct unified_io_rfqe *rfqes;
	uint32_t rf_tail;			/* private: entries written */
	bool bound;				/* refill (not FREE) for zc */
};

/* Open, SETUP (buffers of @buf_size, @nr_bufs of them), map; -errno. */
int nl_region_create(struct nl_region *r, uint32_t sq, uint32_t cq,
		     uint32_t buf_size, uint32_t nr_bufs);
void nl_region_destroy(struct nl_region *r);
int nl_region_info(const struct nl_region *r, struct unified_io_info *info);

/* The raw ioctl with a prepared struct (msg poisoned by the caller). */
int nl_bind_raw(int fd, unsigned long cmd, struct unified_io_net_bind *b);
/* BIND; @msg (64 bytes, may be NULL) gets the kernel's message. */
int nl_bind(struct nl_region *r, int ifindex, uint32_t rxq, uint32_t nr_bufs,
	    char *msg);
int nl_unbind(struct nl_region *r, char *msg);

/* Inline SUBMIT of one descriptor; returns SUBMIT's result. */
int nl_submit_inline(struct nl_region *r, const struct unified_io_desc *d);
/* COMPLETE with @min and @timeout_ns; returns its result. */
int nl_complete(struct nl_region *r, uint32_t min, uint64_t timeout_ns);

/* Write one refill entry (not yet published); -ENOSPC when full. */
int nl_refill_put(struct nl_region *r, uint64_t addr, uint16_t owner,
		  uint16_t resv0);
/* Publish the entries written (store-release of the tail). */
void nl_refill_flush(struct nl_region *r);
/* Entries published and not yet consumed by the kernel. */
uint32_t nl_refill_pending(const struct nl_region *r);

/*
 * FREE @n buffers of @owner through the SQ in batches, reaping their
 * completions (the CQ must hold nothing else). Returns 0, or the first
 * negative result (all are still submitted).
 */
int nl_free_bufs(struct nl_region *r, uint16_t owner, const uint64_t *offs,
		 unsigned int n);

/* One completion of a RECV. */
struct nl_chunk {
	uint64_t addr;
	int32_t res;
	uint32_t flags;
};

/*
 * Submit one RECV (inline) on @sock and reap all its completions: chunks
 * into @chunks (at most @max; more is an error), the final result into
 * *final. Returns 0 or -errno when the ABI itself misbehaved (a completion
 * of another descriptor, no final completion within @timeout_ms, ...), with
 * a reason in @err.
 */
int nl_recv(struct nl_region *r, int sock, uint16_t owner, uint32_t len,
	    uint32_t flags, uint64_t addr, struct nl_chunk *chunks,
	    unsigned int max, unsigned int *nr, int32_t *final,
	    int timeout_ms, char *err, size_t errlen);

/* A RECV descriptor; the caller may spoil fields before submitting it. */
void nl_prep_recv(struct unified_io_desc *d, int sock, uint16_t owner,
		  uint32_t len, uint32_t flags, uint64_t user_data);

/* --- the receive loop ---------------------------------------------------- */

enum nl_expect {
	NL_EXPECT_ANY,
	NL_EXPECT_ZC,		/* no chunk may have UNIFIED_IO_CQE_F_COPIED */
	NL_EXPECT_COPIED,	/* every chunk must have it */
};

struct nl_rx_flow {
	int sock;		/* -1 once closed by the test */
	uint64_t off;		/* stream offset of the next byte */
	uint64_t expect;	/* bytes the sender writes */
	bool eof;
};

/* The last chunk delivered in a held buffer, to check it again later. */
struct nl_held_chunk {
	uint64_t off;		/* stream offset */
	uint8_t flow;
	uint8_t xor;
	uint16_t in;		/* offset in the buffer */
	uint32_t len;		/* 0: not verifiable (a RECV with drops) */
};

struct nl_rx {
	struct nl_region *r;
	uint16_t owner;
	uint32_t recv_flags;	/* UNIFIED_IO_RECV_F_* for each RECV */
	enum nl_expect expect;
	bool hold;		/* keep buffers (nl_rx_return_held later) */
	uint8_t bpf_xor;	/* chunks starting a buffer are XORed with it */
	int nr_flows;
	struct nl_rx_flow flow[NL_MAX_FLOWS];

	/* Buffers held: per buffer, chunks delivered in it (0: not held). */
	uint16_t *held;
	uint8_t *held_zc;	/* 1 when delivered without a copy */
	struct nl_held_chunk *held_chunk;
	uint32_t nr_held;	/* buffers with held[] != 0 */

	/* Totals. */
	uint64_t bytes;		/* taken from the sockets (final results) */
	uint64_t verified;	/* bytes compared with the pattern */
	uint64_t zc_bytes, zc_chunks, copy_bytes, copy_chunks;
	uint64_t drop_chunks;	/* UNIFIED_IO_CQE_F_BPF_DROP completions */
	uint64_t unverified;	/* bytes of RECVs that also had drops */
	uint64_t shared_chunks;	/* chunks in a buffer already holding one */
	uint64_t unaligned_chunks; /* chunks not at the start of a buffer */
	uint64_t bpf_chunks, bpf_bytes; /* chunks starting a buffer (F_BPF) */
	uint64_t recvs, eagain, nobufs;
	uint64_t refilled, freed;
	uint64_t zc_after_copy;	/* zc chunks after a copied one (per flow) */
	bool seen_copy[NL_MAX_FLOWS];
	char err[NL_ERR_LEN];
};

int nl_rx_init(struct nl_rx *rx, struct nl_region *r, uint16_t owner,
	       int nr_flows, const int *socks, uint64_t bytes_per_flow);
void nl_rx_fini(struct nl_rx *rx);

/*
 * Poll the open sockets of flows not at EOF for up to @timeout_ms and RECV
 * once on each readable one: verify every chunk and give its buffer back
 * (refill ring for zero-copy chunks while r->bound, FREE otherwise) unless
 * rx->hold. Returns the number of RECVs made (0: nothing was readable) or
 * -errno with rx->err.
 */
int nl_rx_step(struct nl_rx *rx, int timeout_ms);

/*
 * nl_rx_step until every flow reached EOF (@until 0) or rx->bytes >= @until;
 * -ETIMEDOUT when no byte arrived for @idle_ms.
 */
int nl_rx_run(struct nl_rx *rx, uint64_t until, int idle_ms);

/*
 * Give back every buffer held, one refill entry (zero-copy chunks while
 * r->bound) or FREE per chunk delivered in it.
 */
int nl_rx_return_held(struct nl_rx *rx);

/* Compare the last chunk of every held buffer with the pattern again. */
int nl_rx_reverify_held(struct nl_rx *rx);

/* Stop tracking the buffer at @off (the test gave it back itself). */
void nl_rx_forget(struct nl_rx *rx, uint64_t off);

/* Buffers held (distinct), their data-area offsets into @offs (max @n). */
unsigned int nl_rx_held_list(const struct nl_rx *rx, uint64_t *offs,
			     unsigned int n);

#endif /* NET_LIB_H */
