/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * regsend: NVMe -> region -> (BPF) -> TCP with no copy, the send loop that
 * unio-netstream send --from-nvme and unified-io net send share
 * (tools/common/regsend.c).
 *
 * A plan is a list of slots, each a run of blocks of one NVMe namespace
 * read whole by passthrough (UNIFIED_IO_OP_NVME) into one region buffer,
 * and a list of chunks, each a byte range of one slot to send on one
 * connection (UNIFIED_IO_OP_SEND). Chunks are listed in slot order, and the
 * chunks of one connection in the order their bytes go on the wire.
 *
 * The loop keeps up to every buffer it is given busy: slots are read ahead
 * in order while buffers are free; each connection sends its next chunk as
 * soon as the chunk's slot is in a buffer, one SEND at a time (a partial
 * SEND is finished with another once poll() says POLLOUT, so bytes never
 * overtake each other); a buffer takes the next slot only when all its
 * chunks are sent and every notification (UNIFIED_IO_CQE_F_NOTIF) of its
 * SENDs has come back: until then the stack may still read it.
 *
 * With @bpf the region's BPF chain runs over [0, used) of each slot's buffer
 * before any of its bytes is sent: by UNIFIED_IO_SEND_F_BPF on the SEND of
 * a slot whose only chunk starts at its first byte (used = the chunk's
 * length), by one UNIFIED_IO_OP_BPF otherwise. The chain must keep the
 * length (redact, stats); a dropped buffer fails the run, and so does a
 * shortened one on the UNIFIED_IO_OP_BPF path (a SEND's completion does not
 * give the programs' length: the tools attach redact, which keeps it). The
 * chain runs once per slot: a SEND whose completion says it ran
 * (UNIFIED_IO_CQE_F_BPF_RAN) and queued nothing or part is sent again
 * without the flag.
 */
#ifndef UNIO_REGSEND_H
#define UNIO_REGSEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct unio_region;

struct rs_slot {
	uint64_t slba;		/* first block */
	uint32_t nlb;		/* blocks read into the buffer */
	uint32_t used;		/* bytes the BPF chain runs over: [0, used) */
};

struct rs_chunk {
	uint32_t conn;		/* index into rs_opts @fds */
	uint32_t slot;		/* index into the plan's slots */
	uint32_t off;		/* first byte in the slot */
	uint32_t len;		/* bytes, at least 1 */
};

struct rs_plan {
	const struct rs_slot *slots;
	size_t nslots;
	const struct rs_chunk *chunks;
	size_t nchunks;
	uint32_t lba_size;	/* bytes of one block of the namespace */
};

struct rs_opts {
	struct unio_region *r;		/* with the namespace opened on it */
	const int *fds;			/* connected TCP sockets */
	unsigned int nconns;
	const uint64_t *bufs;		/* data-area offsets of buffers @owner holds */
	unsigned int nbufs;
	uint16_t owner;
	bool bpf;			/* run the region's chain before sending */
	bool shutdown;			/* shutdown(SHUT_WR) a connection once sent */
	unsigned int timeout_s;		/* give up after this long without progress */
	bool quiet;			/* no progress lines */
	const char *name;		/* their prefix */
};

struct rs_stats {
	uint64_t nvme_reads, nvme_bytes;	/* passthrough reads into buffers */
	uint64_t bpf_ops;			/* UNIFIED_IO_OP_BPF descriptors */
	uint64_t bpf_sends;			/* SENDs whose chain ran
						   (UNIFIED_IO_CQE_F_BPF_RAN) */
	uint64_t send_descs;			/* SEND descriptors */
	uint64_t sends;				/* SENDs that queued bytes */
	uint64_t bytes;				/* bytes they queued */
	uint64_t partial;			/* SENDs that queued less than asked */
	uint64_t eagain;			/* SENDs that met a full socket */
	uint64_t notifs, notifs_copied;		/* notifications, with F_COPIED */
	uint64_t notif_copied_bytes;		/* bytes of those with F_COPIED */
	uint32_t max_inflight;			/* most SENDs awaiting notification */
	uint64_t submits, reaps, polls;		/* library and poll() calls */
	uint64_t ns;				/* first read to last notification */
};

/*
 * Run @p on @o. Returns 0 when every chunk was sent and every notification
 * came back, or -errno with a sentence in @msg.
 */
int rs_run(const struct rs_plan *p, const struct rs_opts *o, struct rs_stats *st,
	   char *msg, size_t msg_size);

/*
 * CQ entries for a region that runs a plan with @nbufs buffers and @nconns
 * connections: room for the SENDs in flight, whose notifications each keep
 * a slot, beside the reads and completions (a power of two, 256 to 32768).
 */
uint32_t rs_cq_entries(unsigned int nbufs, unsigned int nconns);

/*
 * Check a plan against a namespace of @nr_lbas blocks and buffers of
 * @buf_size bytes: 0, or -EINVAL with the first fault in @msg.
 */
int rs_plan_check(const struct rs_plan *p, unsigned int nconns, uint64_t nr_lbas,
		  uint32_t buf_size, char *msg, size_t msg_size);

#endif /* UNIO_REGSEND_H */
