/*
 * runner.c -- main() for a C test suite (see test.h).
 *
 * Usage: <suite-binary> [-l] [-j] [SUBSTRING...]
 *   -l  list test names and exit
 * Environment: SL_TEST_TIMEOUT (seconds per test, default 300),
 *              SL_TEST_SEED (PRNG seed), SL_SUITE (name in the summary).
 * Output: one line per test, then "<suite>: N passed, N failed, N skipped".
 */
#include "test.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SKIP 77

typedef struct test_case {
    const char *name;
    const char *file;
    sl_test_fn fn;
} test_case_t;

static test_case_t *tests;
static size_t n_tests, cap_tests;
static char test_dir[4096];
static uint64_t rng_state, seed;

void
sl_test_register(const char *name, const char *file, sl_test_fn fn)
{
    if (n_tests == cap_tests) {
        cap_tests = cap_tests ? cap_tests * 2 : 64;
        tests = realloc(tests, cap_tests * sizeof(*tests));
        if (tests == NULL)
            abort();
    }
    tests[n_tests++] = (test_case_t){name, file, fn};
}

void
sl_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _exit(1);
}

void
sl_test_skip(const char *reason)
{
    fprintf(stderr, "    skipped: %s\n", reason);
    fflush(stderr);
    _exit(EXIT_SKIP);
}

const char *
sl_test_dir(void)
{
    return test_dir;
}

const char *
sl_test_path(const char *name)
{
    static char slots[8][4200];
    static int next;
    char *p = slots[next++ & 7];

    snprintf(p, sizeof(slots[0]), "%s/%s", test_dir, name);
    return p;
}

uint64_t
sl_test_seed(void)
{
    return seed;
}

uint64_t
sl_test_rand(void)
{
    /* splitmix64: tiny, good enough for test data, reproducible per seed. */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
cmp_tests(const void *a, const void *b)
{
    const test_case_t *x = a, *y = b;
    int c = strcmp(x->file, y->file);

    return c ? c : strcmp(x->name, y->name);
}

static int
run_one(const test_case_t *t, int timeout)
{
    const char *tmp = getenv("TMPDIR");
    pid_t pid;
    int status;

    snprintf(test_dir, sizeof(test_dir), "%s/sl-test-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(test_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        alarm((unsigned)timeout);
        t->fn();
        fflush(stdout);
        _exit(0);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    nftw(test_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (WIFEXITED(status))
        return WEXITSTATUS(status) == EXIT_SKIP ? EXIT_SKIP : WEXITSTATUS(status) != 0;
    fprintf(stderr, "    killed by signal %d%s\n", WTERMSIG(status),
            WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
    return 1;
}

static int
selected(const test_case_t *t, int argc, char **argv, int first)
{
    if (first >= argc)
        return 1;
    for (int i = first; i < argc; i++) {
        if (strstr(t->name, argv[i]) || strstr(t->file, argv[i]))
            return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *suite = getenv("SL_SUITE") ? getenv("SL_SUITE") : "unit";
    int timeout = getenv("SL_TEST_TIMEOUT") ? atoi(getenv("SL_TEST_TIMEOUT")) : 300;
    int passed = 0, failed = 0, skipped = 0, first = 1, list = 0;

    seed = getenv("SL_TEST_SEED") ? strtoull(getenv("SL_TEST_SEED"), NULL, 0) : 0x5eed5eedull;
    if (argc > 1 && strcmp(argv[1], "-l") == 0) {
        list = 1;
        first = 2;
    }
    qsort(tests, n_tests, sizeof(*tests), cmp_tests);
    for (size_t i = 0; i < n_tests; i++) {
        const test_case_t *t = &tests[i];
        int rc;

        if (!selected(t, argc, argv, first))
            continue;
        if (list) {
            printf("%s\n", t->name);
            continue;
        }
        rng_state = seed ^ (uint64_t)i * 0x2545f4914f6cdd1dull;
        rc = run_one(t, timeout);
        if (rc == 0) {
            passed++;
            printf("ok   %s\n", t->name);
        } else if (rc == EXIT_SKIP) {
            skipped++;
            printf("skip %s\n", t->name);
        } else {
            failed++;
            printf("FAIL %s (%s)\n", t->name, t->file);
        }
        fflush(stdout);
    }
    if (!list)
        printf("%s: %d passed, %d failed, %d skipped\n", suite, passed, failed, skipped);
    return failed ? 1 : 0;
}
