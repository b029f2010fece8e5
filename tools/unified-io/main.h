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
			p_err("'%s' needs at least %d arguments, %d found", \
			      argv[-1], _cnt, argc);			\
			_res = false;					\
		} else {						\
			_res = true;					\
		}							\
		_res;							\
	})

extern const char *bin_name;
extern bool json_output;
extern bool pretty_output;
extern json_writer_t *json_wtr;

struct cmd {
	const char *cmd;
	int (*func)(int argc, char **argv);
};

void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool help_json_null(void);
bool is_prefix(const char *pfx, const char *str);
int cmd_select(const struct cmd *cmds, int argc, char **argv,
	       int (*help)(int argc, char **argv));
bool parse_global_opt(int opt);

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
