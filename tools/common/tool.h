/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers every unified_io tool shares (tools/common/tool.c): messages,
 * clocks, option values, and results stored through a shared mapping.
 * They call nothing of the tools, so any tool's units can use them.
 */
#ifndef UNIO_TOOL_H
#define UNIO_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The program's name in messages; each program sets it before any. */
extern const char *tool_name;

/* "tool_name: message" on standard error. */
void tool_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "message" on standard error, unless @quiet: progress. */
void tool_info(bool quiet, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t tool_now_ns(void);
/* The process's user and system CPU time so far, in nanoseconds. */
void tool_cpu_ns(uint64_t *usr, uint64_t *sys);

/*
 * "4096", "0x1000", "64K", "16M", "1G", "2T", and the "KiB" and "KB"
 * spellings: -EINVAL if @s is not one, -ERANGE if it does not fit.
 */
int tool_parse_size(const char *s, uint64_t *out);
/* A number from 0 to @max, decimal or 0x hex: -EINVAL otherwise. */
int tool_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* "4 KiB", "1 GiB": @v in the largest unit that divides it. */
const char *tool_size_str(uint64_t v, char *buf, size_t len);

/*
 * Checks of region options before the kernel is asked: 0, or -EINVAL with
 * @msg saying which option is wrong and what it must be ("--buf-size 3 KiB:
 * must be a power of two from 4 KiB to 2 MiB").
 *
 * tool_check_pow2: @v is a power of two in [@min, @max].
 * tool_check_region: @buf_size a buffer size (a power of two from the page
 * size to 2 MiB) and @data_size a non-zero multiple of it, at most the
 * 1 GiB cap and 65536 buffers (the limits of UNIFIED_IO_SETUP).
 */
int tool_check_pow2(char *msg, size_t len, const char *opt, uint64_t v,
		    uint64_t min, uint64_t max);
int tool_check_region(char *msg, size_t len, const char *data_opt,
		      uint64_t data_size, const char *buf_opt, uint64_t buf_size);

/*
 * What @err from libunifiedio call @call (enum unio_call) means, from
 * unio_explain() with the failed call's @opts: a static buffer, valid until
 * the next call.
 */
struct unio_region_opts;
const char *tool_explain(unsigned int call, int err,
			 const struct unio_region_opts *opts);

/*
 * Store @len bytes in @path through a shared mapping of it: no write(),
 * so copycount counts no copy for a tool's own report.  -errno on failure.
 */
int tool_store_file(const char *path, const void *buf, size_t len);

#endif /* UNIO_TOOL_H */
