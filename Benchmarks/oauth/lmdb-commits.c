/* Durable LMDB commits per second in a directory: the ceiling of an authorization server
 * that commits every grant with a synced write transaction.
 *
 * Opens an environment as EdgeAuth's state store does (MDB_NOTLS only: no MDB_NOSYNC, no
 * MDB_NOMETASYNC, so every commit is flushed with fdatasync before mdb_txn_commit returns)
 * and runs COMMITS write transactions, each putting one new VALUE_BYTES record under a
 * 64-character key (the hex digest of a code or token) into each of TABLES tables (default 1;
 * a code exchange writes three: the code, the grant, the refresh token). WRITERS processes
 * share the environment, as edgeauth serve's workers do; LMDB runs one write transaction at a time.
 *
 * Usage: lmdb-commits DIRECTORY [COMMITS] [WRITERS] [VALUE_BYTES] [TABLES]
 * Prints: "<commits> commits of <tables> put(s) in <s> s by <writers> writer(s): <rate> commits/s"
 * Build: cc -O2 -o lmdb-commits lmdb-commits.c -llmdb
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void check(int rc, const char *what) {
    if (rc != 0) {
        fprintf(stderr, "lmdb-commits: %s: %s\n", what, mdb_strerror(rc));
        exit(1);
    }
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static MDB_env *open_env(const char *dir) {
    MDB_env *env;
    check(mdb_env_create(&env), "mdb_env_create");
    check(mdb_env_set_mapsize(env, (size_t)1 << 30), "mdb_env_set_mapsize");
    check(mdb_env_set_maxdbs(env, 8), "mdb_env_set_maxdbs");
    check(mdb_env_open(env, dir, MDB_NOTLS, 0600), "mdb_env_open");
    return env;
}

static void run(const char *dir, long commits, int writer, size_t value_bytes, int tables) {
    MDB_env *env = open_env(dir);
    MDB_txn *txn;
    MDB_dbi dbi[8];
    check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
    for (int t = 0; t < tables; t++) {
        char name[16];
        snprintf(name, sizeof name, "table%d", t);
        check(mdb_dbi_open(txn, name, MDB_CREATE, &dbi[t]), "mdb_dbi_open");
    }
    check(mdb_txn_commit(txn), "mdb_txn_commit");
    char *value = malloc(value_bytes);
    memset(value, 'v', value_bytes);
    char key[64];
    srandom((unsigned)getpid() ^ (unsigned)time(NULL) ^ (unsigned)writer);
    static const char hex[] = "0123456789abcdef";
    for (long i = 0; i < commits; i++) {
        check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
        for (int t = 0; t < tables; t++) {
            for (int j = 0; j < 64; j++) key[j] = hex[random() & 15];
            MDB_val k = {64, key}, v = {value_bytes, value};
            check(mdb_put(txn, dbi[t], &k, &v, 0), "mdb_put");
        }
        check(mdb_txn_commit(txn), "mdb_txn_commit");
    }
    free(value);
    mdb_env_close(env);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIRECTORY [COMMITS] [WRITERS] [VALUE_BYTES] [TABLES]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    long commits = argc > 2 ? atol(argv[2]) : 2000;
    int writers = argc > 3 ? atoi(argv[3]) : 1;
    size_t value_bytes = argc > 4 ? (size_t)atol(argv[4]) : 400;
    int tables = argc > 5 ? atoi(argv[5]) : 1;
    if (commits < 1 || writers < 1 || value_bytes < 1 || tables < 1 || tables > 7) {
        fprintf(stderr, "lmdb-commits: COMMITS, WRITERS and VALUE_BYTES must be positive, TABLES 1 to 7\n");
        return 2;
    }
    mkdir(dir, 0700);
    mdb_env_close(open_env(dir)); /* create the files before the clock starts */
    double start = now();
    for (int w = 0; w < writers; w++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            run(dir, commits / writers + (w < commits % writers), w, value_bytes, tables);
            _exit(0);
        }
    }
    int failed = 0, status;
    while (wait(&status) > 0) failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    double elapsed = now() - start;
    if (failed) return 1;
    printf("%ld commits of %d put(s) in %.2f s by %d writer(s): %.0f commits/s\n", commits, tables, elapsed, writers, commits / elapsed);
    return 0;
}
