/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Limits of the process-tree tracking (proctree.bpf.h), shared with the
 * loaders in tools/.  Plain C, no includes: see syscount.h.
 */
#ifndef UNIFIED_IO_BPF_PROCTREE_H
#define UNIFIED_IO_BPF_PROCTREE_H

/* Processes (thread groups) of the traced tree tracked at once. */
#define PROCTREE_MAX_PROCS	16384

#endif /* UNIFIED_IO_BPF_PROCTREE_H */
