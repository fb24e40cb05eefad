#ifndef EDGEAUTH_CLMDB_SHIM_H
#define EDGEAUTH_CLMDB_SHIM_H
#include <lmdb.h>
#include <stdint.h>

/* A 64-bit counter in memory shared by several processes (a MAP_SHARED
 * mapping of the cache's epoch file): C11-style atomics, which Swift cannot
 * apply to memory it does not own. */
static inline uint64_t edgeauth_shared_load(const uint64_t *counter) {
    return __atomic_load_n(counter, __ATOMIC_ACQUIRE);
}

static inline void edgeauth_shared_increment(uint64_t *counter) {
    __atomic_fetch_add(counter, 1, __ATOMIC_ACQ_REL);
}

/* Replaces *word with desired if it still holds expected; returns whether it did. */
static inline int edgeauth_shared_compare_exchange(uint64_t *word, uint64_t expected, uint64_t desired) {
    return __atomic_compare_exchange_n(word, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
#endif
