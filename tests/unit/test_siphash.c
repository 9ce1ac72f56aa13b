/* SipHash-2-4 against the reference vectors of the SipHash paper (key
 * 00 01 .. 0f, message 00 01 .. len-1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "siphash.h"

static void test_reference_vectors(void **state)
{
    (void)state;
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    assert_true(siphash24(msg, 0, key) == 0x726fdb47dd0e0e31ULL);
    assert_true(siphash24(msg, 1, key) == 0x74f839c593dc67fdULL);
    assert_true(siphash24(msg, 7, key) == 0xab0200f58b01d137ULL);
    assert_true(siphash24(msg, 8, key) == 0x93f5f5799a932462ULL);
    assert_true(siphash24(msg, 15, key) == 0xa129ca6149be45e5ULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
