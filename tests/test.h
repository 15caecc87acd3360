/*
 * test.h -- the tiny C test framework shared by tests/unit and tests/proto.
 *
 *   SL_TEST(segment_roll) { ... SL_CHECK(x == 1); SL_CHECK_EQ(a, b); }
 *
 * Tests register themselves (a constructor per test): there is no list to
 * edit. The runner (tests/runner.c) forks one child per test with a timeout,
 * so a crash or hang fails that test only. Each test gets a fresh empty
 * directory, sl_test_dir(), removed afterwards. A failed check prints the
 * expression and location and ends the test; SL_SKIP ends it as skipped.
 */
#ifndef SL_TESTS_TEST_H
#define SL_TESTS_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*sl_test_fn)(void);

void sl_test_register(const char *name, const char *file, sl_test_fn fn);
void sl_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
void sl_test_skip(const char *reason) __attribute__((noreturn));
/* The test's private scratch directory (absolute path). */
const char *sl_test_dir(void);
/* A path inside sl_test_dir(); returns a static buffer per call slot (8). */
const char *sl_test_path(const char *name);
/* Deterministic PRNG seeded per test from SL_TEST_SEED (default fixed). */
uint64_t sl_test_rand(void);
uint64_t sl_test_seed(void);

#define SL_TEST(name)                                                                              \
    static void test_##name(void);                                                                 \
    __attribute__((constructor)) static void register_##name(void)                                 \
    {                                                                                              \
        sl_test_register(#name, __FILE__, test_##name);                                            \
    }                                                                                              \
    static void test_##name(void)

#define SL_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            sl_test_fail(__FILE__, __LINE__, "check failed: %s", #cond);                           \
    } while (0)

#define SL_CHECK_EQ(a, b)                                                                          \
    do {                                                                                           \
        long long sl_a_ = (long long)(a), sl_b_ = (long long)(b);                                  \
        if (sl_a_ != sl_b_)                                                                        \
            sl_test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, sl_a_, sl_b_);      \
    } while (0)

#define SL_CHECK_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *sl_a_ = (a), *sl_b_ = (b);                                                     \
        if (strcmp(sl_a_, sl_b_) != 0)                                                             \
            sl_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, sl_a_, sl_b_);  \
    } while (0)

#define SL_CHECK_MEM(a, b, n)                                                                      \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) != 0)                                                            \
            sl_test_fail(__FILE__, __LINE__, "memory %s != %s (%zu bytes)", #a, #b, (size_t)(n));  \
    } while (0)

#define SL_CHECK_OK(expr)                                                                          \
    do {                                                                                           \
        int sl_rc_ = (expr);                                                                       \
        if (sl_rc_ != 0)                                                                           \
            sl_test_fail(__FILE__, __LINE__, "%s returned %d", #expr, sl_rc_);                     \
    } while (0)

#define SL_SKIP(reason) sl_test_skip(reason)

#endif
