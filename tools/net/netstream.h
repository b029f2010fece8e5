/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * unio-netstream: shared declarations.
 *
 * A stream is a 64-byte header (struct ns_hdr) followed by @bytes payload
 * bytes; payload byte i of flow f is byte (i % 8) of the little-endian
 * 64-bit word ns_word(key(seed, f), i / 8). The word depends on its index,
 * so a chunk delivered at the wrong stream offset, twice, or in another
 * flow's place never verifies.
 */
#ifndef UNIO_NETSTREAM_H
#define UNIO_NETSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>

#include <unifiedio.h>

#include "json_writer.h"
#include "regsend.h"
#include "tool.h"

#define NS_MAGIC		"UIONETS1"
#define NS_VERSION		1
#define NS_HDR_SIZE		64
#define NS_MAX_FLOWS		64
#define NS_DEFAULT_SEED		0x756e69666965642dULL	/* "-deifinu" */
/* Owner tag of every buffer the receiver holds. */
#define NS_OWNER		0x4e53	/* "NS" */
/*
 * --mode zcrx-region: page-size buffers past the zcrx area, for reading the
 * stored data back (--store); the region holds them too.
 */
#define NS_ZCRX_READBACK_BUFS	16

struct ns_hdr {
	char magic[8];
	uint32_t version;
	uint32_t flow;
	uint32_t nflows;
	uint32_t hdr_size;
	uint64_t bytes;
	uint64_t seed;
	uint8_t resv[24];
};

_Static_assert(sizeof(struct ns_hdr) == NS_HDR_SIZE, "stream header size");

/* pattern.c */
uint64_t ns_flow_key(uint64_t seed, uint32_t flow);
void ns_fill(uint64_t key, uint64_t off, void *buf, size_t len);
/* Bytes that match from the start: len when all do. */
size_t ns_check(uint64_t key, uint64_t off, const void *buf, size_t len);
void ns_hdr_init(struct ns_hdr *h, uint32_t flow, uint32_t nflows,
		 uint64_t bytes, uint64_t seed);
int ns_hdr_check(const struct ns_hdr *h);

/* What a receiver knows of one connection. */
struct ns_flow {
	int fd;
	unsigned int slot;		/* index in the receiver's table */
	bool eof;
	bool hdr_ok;
	bool bad_hdr;
	bool overrun;			/* bytes past the announced end */
	uint32_t hdr_len;
	union {
		struct ns_hdr hdr;
		uint8_t hdr_bytes[NS_HDR_SIZE];
	};
	uint64_t key;
	uint64_t stream_off;		/* bytes taken, header included */
	uint64_t payload_ok;		/* payload bytes verified */
	uint64_t mismatches;		/* chunks with a wrong byte */
	uint64_t first_bad;		/* stream offset of the first wrong byte */
	uint64_t chunks;
	uint64_t copied_chunks;		/* RECV: UNIFIED_IO_CQE_F_COPIED */
	uint64_t copied_bytes;
	/* --expect-redact: this flow's redacted payload spans, in order. */
	const struct ns_redact_span *spans;
	size_t nspans;
	uint64_t redacted;		/* payload bytes found redacted */
};

/* Check @len received bytes of @f at its current stream offset. */
void ns_flow_consume(struct ns_flow *f, const void *buf, size_t len);
bool ns_flow_complete(const struct ns_flow *f);
/* Expected byte of @f at stream offset @off (header, then payload). */
bool ns_flow_expect(const struct ns_flow *f, uint64_t off, const void *buf,
		    size_t len);

/* System calls of the receive loop, by name. */
enum ns_sc {
	NS_SC_POLL, NS_SC_IOCTL, NS_SC_RECV, NS_SC_IO_URING_ENTER,
	NS_SC_IO_URING_REGISTER, NS_SC_SEND, NR_NS_SC
};
extern const char *const ns_sc_names[NR_NS_SC];

/* Everything a run reports. */
struct ns_report {
	const char *cmd;		/* "send" or "recv" */
	const char *mode;
	unsigned int nflows;
	uint64_t payload_bytes;		/* all flows */
	uint64_t stream_bytes;		/* payload plus headers */
	uint64_t ns;			/* first connection to last EOF */
	uint64_t usr_ns, sys_ns;	/* CPU of the process in that time */
	uint64_t sc[NR_NS_SC];		/* system calls of the loop */
	/*
	 * The kernel's count of the loop's system calls (the receiving
	 * thread's raw_syscalls:sys_enter, by a perf counter): those above and
	 * every other one, --store's NVMe I/O and the close() at each end of
	 * stream included. sc_kernel_why says why there is none.
	 */
	bool have_sc_kernel;
	bool armed;			/* native --armed */
	const char *ring;		/* "module" or "io_uring" */
	uint32_t wait_batch, wait_usecs;
	uint64_t sc_kernel;
	char sc_kernel_why[96];
	uint64_t chunks;		/* completions carrying data */
	uint64_t copied_chunks;		/* RECV_F_COPIED completions */
	uint64_t copied_bytes;
	/* Copies the kernel reports: GET_INFO net or zcrx statistics. */
	const char *kcopy_source;	/* NULL: none available */
	uint64_t kcopy_chunks, kcopy_bytes;
	bool have_net_info;
	struct unified_io_net_info net;	/* native: after the run */
	uint64_t rq_flushes;		/* zcrx NODEV: ZCRX_CTRL_FLUSH_RQ */
	uint64_t retries;		/* RECV ENOSPC/ENOBUFS, zcrx ENOMEM re-arms */
	uint64_t retries_enospc, retries_enobufs;	/* native --armed: of those */
	bool verify_ok;
	uint64_t mismatches;
	char verify_msg[256];
	/* --bpf-stats */
	bool bpf;
	uint64_t bpf_buffers, bpf_bytes, bpf_runs_submitted;
	/* --store */
	const char *store_dev;
	uint64_t store_writes, store_bytes, store_blocks, store_read_bytes;
	uint64_t store_submits, store_reaps;	/* library calls of the writes */
	bool store_stream;			/* --store-layout stream */
	uint32_t store_lba;			/* the namespace's block size */
	/* --store-layout stream: where each flow (its header's id) lies */
	struct { uint32_t flow; uint64_t slba, bytes; } store_streams[NS_MAX_FLOWS];
	unsigned int store_nstreams;
	uint64_t store_commands;		/* NVMe commands of the writes */
	uint64_t store_copied_bytes, store_pad_bytes;
	bool store_ok;
	char store_msg[256];
	char ifname[32];
	uint32_t ifindex, rxq;
	bool zcrx_nodev;
	/* send --from-nvme */
	const char *nvme_dev;
	struct rs_stats rs;
	bool have_send_info;
	struct unified_io_send_info send_info;
	const char *bpf_prog;		/* "redact" */
	uint32_t redact_off, redact_len;
	uint8_t redact_fill;
	uint32_t slot_size;
	unsigned int bufs;
	/* recv --expect-redact */
	bool expect_redact;
	uint64_t redacted_bytes;
};

/* Options of recv without a short form. */
enum { NS_OPT_ARMED = 256, NS_OPT_WAIT_BATCH, NS_OPT_WAIT_USECS, NS_OPT_RING };

/* Options of recv. */
enum ns_mode { NS_NATIVE, NS_ZCRX, NS_ZCRX_REGION, NS_RECV, NR_NS_MODES };
extern const char *const ns_mode_names[NR_NS_MODES];

struct ns_recv_opts {
	enum ns_mode mode;
	const char *addr;
	uint16_t port;
	unsigned int nflows;
	const char *ifname;
	uint32_t ifindex;
	uint32_t rxq;
	bool zcrx_nodev;
	bool no_bind;
	bool setup_only;		/* set up and listen, then stop */
	uint64_t data_size;
	uint32_t buf_size;
	uint32_t nic_bufs;
	uint32_t cq_entries;
	bool armed;			/* native: armed RECV, one per flow */
	bool ring_uring;		/* --armed --ring io_uring: one io_uring */
	uint32_t wait_batch;		/* --armed: COMPLETE's min_complete (0: CQ/4) */
	uint32_t wait_usecs;		/* --armed: COMPLETE's timeout */
	bool bpf_stats;
	const char *store;
	bool store_stream;		/* --store-layout stream */
	const char *ready;
	unsigned int timeout_s;
	bool quiet;
	const char *store_index;	/* --store-index FILE */
	const char *index;		/* --index FILE, with --expect-redact */
	bool expect_redact;
	uint32_t redact_off, redact_len;
	uint8_t redact_fill;
};

/* Options of send. */
struct ns_send_opts {
	const char *host;
	uint16_t port;
	unsigned int nflows;
	uint64_t bytes;			/* payload per flow */
	uint64_t seed;
	size_t chunk;			/* bytes per send() */
	int64_t corrupt;		/* flow 0's payload byte to flip, or -1 */
	const char *save_dir;		/* --save DIR: DIR/flow-N, as sent */
	unsigned int timeout_s;
	bool quiet;
	/* --from-nvme DEV --index FILE: the streams a store holds, zero-copy. */
	const char *nvme;
	const char *index;
	unsigned int bufs;		/* region buffers (slots in flight) */
	bool redact;			/* --bpf-redact OFF:LEN[:FILL] */
	uint32_t redact_off, redact_len;
	uint8_t redact_fill;
	bool setup_only;
};

int ns_send(const struct ns_send_opts *o, struct ns_report *rep);
/* send --from-nvme (send-nvme.c). */
int ns_send_nvme(const struct ns_send_opts *o, struct ns_report *rep);
/* Connect to @ai, retrying while refused until @timeout_s passes; the fd. */
struct addrinfo;
int ns_connect(const struct addrinfo *ai, unsigned int timeout_s, char *msg,
	       size_t msg_size);

/* recv.c: the machinery every mode shares. */
struct ns_recv;
struct ns_recv {
	const struct ns_recv_opts *o;
	struct ns_report *rep;
	int lfd;
	struct ns_flow flows[NS_MAX_FLOWS];
	unsigned int nflows;		/* accepted */
	unsigned int active;		/* not at EOF */
	uint64_t t0;
	uint64_t usr0, sys0;
	uint64_t last_progress;
	/* Most receive buffer per socket (0: the system's); set before listening. */
	uint64_t rcvbuf_max;
	/* Region modes. */
	struct unio_region *r;
	struct unio_queue *q;
	/* --store */
	struct ns_store *store;
	/* --bpf-stats */
	struct ns_bpf *bpf;
	/*
	 * native --armed: completions of the region's CQ that --store's
	 * reaping (unio_reap() takes every kind) took while the armed RECVs
	 * kept posting; the loop handles them before the CQ's own, in order.
	 */
	bool hold_cqes;
	struct unified_io_cqe *held;
	unsigned int nheld, cap_held;
	int sc_perf_fd;			/* the kernel's count; -1: none */
	uint64_t sc_perf_self;		/* what the counter counts of itself */
};

int ns_recv_listen(struct ns_recv *rc);
/* Keep a completion for the loop (rc->held), in order. */
int ns_hold_cqe(struct ns_recv *rc, const struct unified_io_cqe *c);
/* The kernel's count of the loop's system calls (report's sc_kernel). */
void ns_sc_kernel_start(struct ns_recv *rc);
void ns_sc_kernel_stop(struct ns_recv *rc);
int ns_recv_accept_all(struct ns_recv *rc);
void ns_recv_start_clock(struct ns_recv *rc);
void ns_recv_stop_clock(struct ns_recv *rc);
void ns_recv_progress(struct ns_recv *rc, bool force);
void ns_flow_eof(struct ns_recv *rc, struct ns_flow *f);
int ns_ifindex(const struct ns_recv_opts *o, struct ns_report *rep);
int ns_region_create(struct ns_recv *rc, uint32_t buf_size, uint64_t data_size,
		     uint32_t cq_entries);
/* Poll every active flow for POLLIN; ready ones get revents set. */
int ns_poll_flows(struct ns_recv *rc, struct pollfd *pfds, unsigned int *map);

/* The modes. */
int ns_recv_native(struct ns_recv *rc);
int ns_recv_zcrx(struct ns_recv *rc);
int ns_recv_plain(struct ns_recv *rc);

/*
 * --store: each buffer holding received bytes is written whole to the next
 * free slot of an NVMe namespace by passthrough from the region (the same
 * buffer, no copy), with an index of where each chunk lies; at the end every
 * slot is read back into region buffers and each chunk checked again.
 */
struct ns_store;
int ns_store_open(struct ns_recv *rc, uint32_t slot_size);
/*
 * Queue the buffer at data-area @buf_off (@slot_size bytes) holding the
 * chunk of @len bytes at @chunk_off of flow @f, whose stream offset is
 * @stream_off. Several chunks of one buffer share its slot when queued
 * between two flushes.
 */
int ns_store_add(struct ns_recv *rc, struct ns_flow *f, uint64_t buf_off,
		 uint64_t chunk_off, uint32_t len, uint64_t stream_off);
/* Write every queued buffer and wait for the writes. */
int ns_store_flush(struct ns_recv *rc);
/*
 * The same; with --store-layout stream the buffers whose bytes are all on
 * the drive then go to @give_back (ns_store_add() took them: the caller
 * gives back none itself).
 */
int ns_store_flush_to(struct ns_recv *rc, int (*give_back)(void *, uint64_t),
		      void *arg);
/* The store keeps the buffers it was given until their bytes are stored. */
bool ns_store_holds_buffers(const struct ns_recv *rc);
/* Region buffers the store took for itself (stream bounce rings). */
unsigned int ns_store_bufs_taken(const struct ns_recv *rc);
/* Read everything back into buffers @owner holds and check it. */
int ns_store_verify(struct ns_recv *rc, const uint64_t *bufs, unsigned int nbufs);
/* --store-index: the index of a verified store, for send --from-nvme. */
int ns_store_write_index(struct ns_recv *rc, const char *path);
void ns_store_close(struct ns_recv *rc);

/*
 * The store index file (recv --store DEV --store-index FILE): where each
 * chunk of each flow lies on the namespace, so that send --from-nvme can
 * send the streams again from the drive. Little-endian, in this order:
 * struct ns_index_hdr, @nflows struct ns_index_flow (the receiver's flows in
 * the order it accepted them), @nentries struct ns_index_entry in slot
 * order; slot s is blocks [s * slot_size / lba_size, (s + 1) * ...) of the
 * namespace, and a flow's entries, in order, cover its stream exactly.
 */
#define NS_INDEX_MAGIC		"UIONSIX1"
#define NS_INDEX_VERSION	1

struct ns_index_hdr {
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;		/* sizeof(struct ns_index_hdr) */
	uint32_t slot_size;		/* bytes of a slot: a region buffer */
	uint32_t lba_size;		/* bytes of a block of the namespace */
	uint32_t nflows;
	uint32_t nsid;
	uint64_t nslots;
	uint64_t nentries;
	uint64_t resv[4];
};

struct ns_index_flow {
	uint32_t hdr_flow;		/* the flow number in its stream header */
	uint32_t resv;
	uint64_t stream_bytes;		/* header and payload */
};

struct ns_index_entry {
	uint32_t flow;			/* index into the flow table */
	uint32_t len;			/* bytes */
	uint32_t chunk_off;		/* first byte in the slot */
	uint32_t resv;
	uint64_t stream_off;		/* of the first byte */
	uint64_t slot;
};

_Static_assert(sizeof(struct ns_index_hdr) == 80, "index header size");
_Static_assert(sizeof(struct ns_index_entry) == 32, "index entry size");

/* A store index, mapped and checked (index.c). */
struct ns_index {
	const struct ns_index_hdr *hdr;
	const struct ns_index_flow *flows;
	const struct ns_index_entry *entries;
	void *map;
	size_t map_len;
};

/* 0, or -errno with the first fault said on standard error. */
int ns_index_open(const char *path, struct ns_index *ix);
void ns_index_close(struct ns_index *ix);

/*
 * recv --expect-redact OFF:LEN[:FILL] --index FILE: the stream comes from
 * send --from-nvme --bpf-redact with the same OFF:LEN:FILL, so bytes
 * [OFF, OFF + LEN) of every slot (clamped to its used bytes) are FILL; the
 * index says which stream bytes those are, per stream-header flow number.
 * ns_flow_consume() and ns_flow_expect() check those bytes against FILL and
 * every other byte against the pattern.
 */
struct ns_redact_span {
	uint64_t start, end;		/* payload offsets, [start, end) */
};

struct ns_expect {
	uint8_t fill;
	unsigned int nflows;
	uint32_t hdr_flow[NS_MAX_FLOWS];
	struct ns_redact_span *spans[NS_MAX_FLOWS];
	size_t nspans[NS_MAX_FLOWS];
};

extern const struct ns_expect *ns_expect;
int ns_expect_build(const struct ns_index *ix, uint32_t off, uint32_t len, uint8_t fill,
		    struct ns_expect *e);
void ns_expect_free(struct ns_expect *e);

/*
 * --bpf-stats: the stats program of bpf/ attached to the region. native
 * passes UNIFIED_IO_RECV_F_BPF; the other region modes run it with
 * UNIFIED_IO_OP_BPF over each buffer that starts a chunk.
 */
struct ns_bpf;
int ns_bpf_open(struct ns_recv *rc);
int ns_bpf_queue(struct ns_recv *rc, uint64_t buf_off, uint32_t len);
int ns_bpf_submit(struct ns_recv *rc);
int ns_bpf_run(struct ns_recv *rc, uint64_t buf_off, uint32_t len);
void ns_bpf_read(struct ns_recv *rc);
void ns_bpf_close(struct ns_recv *rc);

#endif /* UNIO_NETSTREAM_H */
