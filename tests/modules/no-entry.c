/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A shared object that is not a Nephele driver: it exports no entry symbol. */
int nph_test_not_a_driver(void);
int nph_test_not_a_driver(void)
{
    return 42;
}
