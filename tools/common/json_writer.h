/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Minimal streaming JSON writer (the subset of bpftool's json_writer that
 * the unified_io tools use). Nesting is tracked so commas and indentation
 * come out right; the caller must balance start/end calls.
 */
#ifndef UNIO_JSON_WRITER_H
#define UNIO_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct json_writer json_writer_t;

json_writer_t *jsonw_new(FILE *f);
void jsonw_destroy(json_writer_t **self_p);
void jsonw_pretty(json_writer_t *self, bool on);
/* Whether an "error" member was written into the top-level object. */
bool jsonw_has_error(const json_writer_t *self);

void jsonw_name(json_writer_t *self, const char *name);
void jsonw_start_object(json_writer_t *self);
void jsonw_end_object(json_writer_t *self);
void jsonw_start_array(json_writer_t *self);
void jsonw_end_array(json_writer_t *self);

void jsonw_string(json_writer_t *self, const char *value);
void jsonw_uint(json_writer_t *self, uint64_t value);
void jsonw_int(json_writer_t *self, int64_t value);
void jsonw_float(json_writer_t *self, double value);
void jsonw_bool(json_writer_t *self, bool value);
void jsonw_null(json_writer_t *self);

void jsonw_string_field(json_writer_t *self, const char *name, const char *value);
void jsonw_uint_field(json_writer_t *self, const char *name, uint64_t value);
void jsonw_int_field(json_writer_t *self, const char *name, int64_t value);
void jsonw_float_field(json_writer_t *self, const char *name, double value);
void jsonw_bool_field(json_writer_t *self, const char *name, bool value);

#endif /* UNIO_JSON_WRITER_H */
