/* SPDX-License-Identifier: GPL-2.0-only */
/* unified-io: shared declarations of the command-line tool. */
#ifndef UNIFIED_IO_MAIN_H
#define UNIFIED_IO_MAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "json_writer.h"
#include "tool.h"

#define UNIO_TOOL_VERSION "1.0.0"

#define NEXT_ARG()	({ argc--; argv++; })
#define GET_ARG()	({ argc--; *argv++; })
#define REQ_ARGS(cnt)							\
	({								\
		int _cnt = (cnt);					\
		bool _res;						\
									\
		if (argc < _cnt) {					\
			p_usage("'%s' needs at least %d argument%s, %d found", \
				argv[-1], _cnt, _cnt == 1 ? "" : "s", argc); \
			_res = false;					\
		} else {						\
			_res = true;					\
		}							\
		_res;							\
	})

extern const char *bin_name;
extern bool json_output;
extern bool pretty_output;
/* A usage error was reported: the exit status is 2. */
extern bool usage_error;
extern json_writer_t *json_wtr;

struct cmd {
	const char *cmd;
	int (*func)(int argc, char **argv);
};

/*
 * A failed operation (exit status 1) and a usage error (exit status 2,
 * returns -EINVAL): "Error: ..." on stderr, or with --json the first one
 * as {"error": "..."} on stdout. A usage error names the word at fault and,
 * for a choice, lists the allowed values.
 */
void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int p_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The usage error for what getopt_long() returned as @opt ('?' or ':'),
 * called with opterr 0 and an optstring starting with ':'; @cmd is the
 * command ("region demo").
 */
int p_getopt_error(const char *cmd, int opt, char **argv);
bool help_json_null(void);
bool is_prefix(const char *pfx, const char *str);
/* Run the command @argv[0] of @cmds; @what names it in errors ("object"). */
int cmd_select(const struct cmd *cmds, int argc, char **argv,
	       int (*help)(int argc, char **argv), const char *what);
/* With --json: write the (complete) document now, e.g. before a long wait. */
void json_commit(void);

int parse_u32(const char *str, uint32_t *out);
const char *fmt_size(uint64_t bytes, char *buf, size_t len);

/* UNIFIED_IO_FEAT_* names and descriptions. */
struct feature_desc {
	uint32_t bit;
	const char *name;
	const char *desc;
};
extern const struct feature_desc feature_descs[];
extern const unsigned int nr_feature_descs;
void print_feature_names_json(uint32_t features);
void print_feature_names_plain(uint32_t features);

int do_feature(int argc, char **argv);
int do_region(int argc, char **argv);
int do_nvme(int argc, char **argv);
int do_bpf(int argc, char **argv);
int do_net(int argc, char **argv);

#endif /* UNIFIED_IO_MAIN_H */
