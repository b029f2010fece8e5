/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Types shared by copycount.bpf.c and its loader (tools/copycount).
 * Plain C only, as syscount.h.
 */
#ifndef UNIFIED_IO_BPF_COPYCOUNT_H
#define UNIFIED_IO_BPF_COPYCOUNT_H

#include "proctree.h"

/*
 * What is probed, one slot of the "counts" map each; the loader's table
 * (tools/copycount/copycount.c) names them in this order and says which are
 * used together.  See copycount.bpf.c for why these.
 *
 * Payload "routines": the kernel's iov_iter user-copy routines themselves.
 * Used when all of the main three can be traced (on 7.2 kernels built with
 * lib/ notrace, as Debian's, none can).
 */
enum copycount_probe {
	/* payload routines, kernel -> user */
	COPYCOUNT_COPY_TO_ITER,			/* _copy_to_iter */
	COPYCOUNT_COPY_PAGE_TO_ITER_NOFAULT,	/* copy_page_to_iter_nofault */
	COPYCOUNT_COPY_MC_TO_ITER,		/* _copy_mc_to_iter */
	/* payload routines, user -> kernel */
	COPYCOUNT_COPY_FROM_ITER,		/* _copy_from_iter */
	COPYCOUNT_COPY_FOLIO_FROM_ITER_ATOMIC,	/* copy_folio_from_iter_atomic */
	COPYCOUNT_COPY_FROM_ITER_NOCACHE,	/* _copy_from_iter_nocache */
	COPYCOUNT_COPY_FROM_ITER_FLUSHCACHE,	/* _copy_from_iter_flushcache */
	COPYCOUNT_CSUM_AND_COPY_FROM_ITER_FULL,	/* csum_and_copy_from_iter_full */
	/* payload, either way: a routine that is also a copy site */
	COPYCOUNT_CSUM_AND_COPY_TO_ITER,	/* csum_and_copy_to_iter */
	/* payload sites (the traceable callers of the routines), kernel -> user */
	COPYCOUNT_FILEMAP_READ,			/* filemap_read */
	COPYCOUNT_SHMEM_FILE_READ_ITER,		/* shmem_file_read_iter */
	COPYCOUNT_ANON_PIPE_READ,		/* anon_pipe_read */
	COPYCOUNT_SIMPLE_COPY_TO_ITER,		/* simple_copy_to_iter */
	COPYCOUNT_SEQ_READ_ITER,		/* seq_read_iter */
	/* payload sites, user -> kernel */
	COPYCOUNT_GENERIC_PERFORM_WRITE,	/* generic_perform_write */
	COPYCOUNT_IOMAP_FILE_BUFFERED_WRITE,	/* iomap_file_buffered_write */
	COPYCOUNT_ANON_PIPE_WRITE,		/* anon_pipe_write */
	COPYCOUNT_SKB_COPY_DATAGRAM_FROM_ITER,	/* skb_copy_datagram_from_iter */
	COPYCOUNT_IP_GENERIC_GETFRAG,		/* ip_generic_getfrag */
	COPYCOUNT_TCP_SENDMSG_LOCKED,		/* tcp_sendmsg_locked */
	/* other user copies */
	COPYCOUNT_COPY_TO_USER,			/* _copy_to_user */
	COPYCOUNT_COPY_FROM_USER,		/* _copy_from_user */
	COPYCOUNT_NR_PROBES
};

#define COPYCOUNT_MAX_PROCS	PROCTREE_MAX_PROCS

/**
 * struct copycount_val - per-CPU value of one "counts" slot
 * @calls:        calls of the function by the traced tree
 * @bytes:        bytes copied to or from user memory (user-backed iov_iter:
 *                ITER_UBUF, ITER_IOVEC; always for _copy_{to,from}_user)
 * @kernel_calls: calls on a kernel iov_iter (ITER_BVEC, ITER_KVEC,
 *                ITER_FOLIOQ, ITER_XARRAY): kernel-to-kernel copies
 *                (splice, sendfile, kernel_read, ...), counted apart
 * @kernel_bytes: bytes those calls copied
 *
 * @calls includes @kernel_calls.  ITER_DISCARD copies nothing and only
 * adds to @calls.
 */
struct copycount_val {
	__u64 calls;
	__u64 bytes;
	__u64 kernel_calls;
	__u64 kernel_bytes;
};

#endif /* UNIFIED_IO_BPF_COPYCOUNT_H */
