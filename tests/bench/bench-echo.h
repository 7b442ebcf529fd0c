/* SPDX-License-Identifier: MIT */
/* What bench-serve and bench-echo agree on. */
#ifndef TVTOKEND_BENCH_ECHO_H
#define TVTOKEND_BENCH_ECHO_H

/* The request that makes bench-echo broadcast its canned message to every other connection. */
#define BENCH_ECHO_BROADCAST "{\"method\":\"bench.Broadcast\"}"

#endif
