/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by unio-nvme-bench and unio-crc-bench: error reporting,
 * timed stretches, and the JSON result written through a shared mapping
 * of the output file (no write(), so nothing copied under copycount);
 * clocks and option values are tools/common/tool.h's.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json_writer.h"
#include "tool.h"

/* The program's name for messages; each benchmark defines it. */
extern const char *const bench_name;

/* Print "bench_name: what: strerror(err)"; return err as a negative errno. */
int bench_fail(const char *what, int err);

/* Wall clock and CPU time (user, system) of one timed stretch. */
struct bench_clock {
	uint64_t t0, usr0, sys0;
};

void bench_clock_start(struct bench_clock *c);
void bench_clock_stop(const struct bench_clock *c, uint64_t *ns, uint64_t *usr_ns,
		      uint64_t *sys_ns);

/* Index of @name in @names[0..n), n if absent. */
unsigned int bench_lookup(const char *const *names, unsigned int n, const char *name);

/* JSON built in memory, then stored through a shared mapping of @path. */
struct bench_json {
	json_writer_t *w;
	FILE *f;
	char *buf;
	size_t len;
};

/* Open the top-level object and its "benchmark" field (bench_name). */
int bench_json_begin(struct bench_json *j);
/* Close the object and store it in @path; frees everything either way. */
int bench_json_end(struct bench_json *j, const char *path);

#endif /* BENCH_COMMON_H */
