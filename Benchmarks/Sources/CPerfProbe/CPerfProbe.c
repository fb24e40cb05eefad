#include "CPerfProbe.h"

#if defined(__linux__)
#include <linux/perf_event.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int edgeauth_bench_instruction_counter_available(void) {
    // The same counter the benchmark harness opens for its `instructions` metric.
    struct perf_event_attr pe;
    memset(&pe, 0, sizeof(pe));
    pe.type = PERF_TYPE_HARDWARE;
    pe.size = sizeof(pe);
    pe.config = PERF_COUNT_HW_INSTRUCTIONS;
    pe.disabled = 1;
    pe.exclude_kernel = 1;
    pe.exclude_hv = 1;
    int fd = (int)syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0);
    if (fd < 0) {
        return 0;
    }
    close(fd);
    return 1;
}
#else
int edgeauth_bench_instruction_counter_available(void) {
    return 1;  // macOS: the harness reads instructions without perf_event_open.
}
#endif
