#ifndef EDGEAUTH_BENCH_CPERFPROBE_H
#define EDGEAUTH_BENCH_CPERFPROBE_H

/// 1 when this process can open a hardware instruction counter (perf_event_open),
/// 0 otherwise (no PMU exposed, as in many virtual machines, or not Linux).
int edgeauth_bench_instruction_counter_available(void);

#endif
