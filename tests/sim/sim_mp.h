/* SPDX-License-Identifier: MIT */
/* tests/sim/sim_mp.h - the simulator's MessagePack encoder (cJSON -> msgpack). */
#ifndef SIM_MP_H
#define SIM_MP_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* Encodes j as MessagePack the way the platform does (docs/protocol.md §13):
 * map keys made only of decimal digits (no leading zero, fits uint32) are
 * written as integer keys, every other key as a string; integral numbers as
 * the smallest int/uint encoding (so ms timestamps become uint64), other numbers
 * as float64; strings as str; true/false/null as such. Key order is kept.
 * Returns a malloc'd buffer and sets *outlen,
 * NULL on OOM. */
unsigned char *sim_mp_encode(const cJSON *j, size_t *outlen);

#endif
