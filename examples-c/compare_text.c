/*
 * The LCID "sets the rules for alphabetizing strings" (seed 004):
 * sess_compare_text sorts a list of names under several LCIDs, as
 * CompareStringEx would, and shows the flags that ignore case and accents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static uint32_t sort_lcid;
static uint32_t sort_flags;

static int by_lcid(const void *pa, const void *pb)
{
    int32_t order = 99;
    CHECK_HR(sess_compare_text(sort_lcid, *(const char *const *)pa,
                               *(const char *const *)pb, sort_flags, &order),
             SESS_S_OK);
    return order;
}

/* Sorts `names` under `lcid` and checks the result is `expected`. */
static void sort_and_check(uint32_t lcid, const char *tag, const char **names,
                           const char **expected, size_t n)
{
    size_t i;
    sort_lcid = lcid;
    sort_flags = 0;
    qsort(names, n, sizeof *names, by_lcid);
    printf("  %-6s", tag);
    for (i = 0; i < n; i++) {
        printf(" %s", names[i]);
        CHECK(strcmp(names[i], expected[i]) == 0);
    }
    printf("\n");
}

int main(void)
{
    /* UTF-8 names: Öl, Äpfel, ñandú written as escapes. */
    const char *sv[] = {"\xC3\x96l", "\xC3\x84pfel", "Zebra", "Apfel", "Olive"};
    const char *sv_sorted[] = {"Apfel", "Olive", "Zebra", "\xC3\x84pfel", "\xC3\x96l"};
    const char *de[] = {"\xC3\x96l", "\xC3\x84pfel", "Zebra", "Apfel", "Olive"};
    const char *de_sorted[] = {"Apfel", "\xC3\x84pfel", "\xC3\x96l", "Olive", "Zebra"};
    const char *es[] = {"ola", "\303\261and\303\272", "nube", "nz"};
    const char *es_sorted[] = {"nube", "nz", "\303\261and\303\272", "ola"};
    int32_t order = 99;

    printf("Sorted under an LCID\n");
    sort_and_check(0x041D, "sv-SE", sv, sv_sorted, 5);
    sort_and_check(0x0407, "de-DE", de, de_sorted, 5);
    sort_and_check(0x0C0A, "es-ES", es, es_sorted, 4);

    printf("Flags\n");
    CHECK_HR(sess_compare_text(0x0409, "apple", "APPLE", 0, &order), SESS_S_OK);
    CHECK(order < 0);
    CHECK_HR(sess_compare_text(0x0409, "apple", "APPLE", SESS_NORM_IGNORECASE, &order),
             SESS_S_OK);
    CHECK(order == 0);
    CHECK_HR(sess_compare_text(0x0409, "resume", "r\xC3\xA9sum\xC3\xA9",
                               SESS_NORM_IGNORENONSPACE, &order),
             SESS_S_OK);
    CHECK(order == 0);
    CHECK_HR(sess_compare_text(0x0409, "co-op", "coop", SESS_SORT_STRINGSORT, &order),
             SESS_S_OK);
    CHECK(order < 0);
    printf("  apple = APPLE ignoring case; resume = r\xC3\xA9sum\xC3\xA9 ignoring accents\n");

    /* Bad input: clear codes, *out untouched. */
    order = 7;
    CHECK_HR(sess_compare_text(0x0409, "a", "b", 0x100, &order), SESS_E_INVALIDARG);
    CHECK_HR(sess_compare_text(0xABCD, "a", "b", 0, &order), SESS_E_INVALID_LCID);
    CHECK_HR(sess_compare_text(0x0409, NULL, "b", 0, &order), SESS_E_POINTER);
    CHECK_HR(sess_compare_text(0x0409, "a", "b", 0, NULL), SESS_E_POINTER);
    CHECK(order == 7);
    return check_summary();
}
