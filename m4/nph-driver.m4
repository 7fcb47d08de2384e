# NPH_DRIVER(NAME, SHELL-NAME, DESCRIPTION, DEPENDENCY-TEXT, DEPENDENCY-CHECK, [STATUS])
#
# One line per hypervisor driver, after collectd's AC_PLUGIN: gives
# --enable-driver-NAME, auto-detects the driver from its dependency, turns
# "asked for but the dependency is missing" into a configure error, defines
# the BUILD_DRIVER_<SHELL-NAME> automake conditional and adds a row to the
# summary table printed at the end of configure.
#
# DEPENDENCY-CHECK is shell code that sets nph_dep_ok=no when the dependency
# is missing (PKG_CHECK_MODULES with an action-if-not-found does that).
# STATUS, when given, is shown in the summary for an enabled driver (for a
# driver whose code has not landed yet: nothing is built for it).
AC_DEFUN([NPH_DRIVER], [
  AC_ARG_ENABLE([driver-$1],
    [AS_HELP_STRING([--enable-driver-$1], [build the $3 driver (default: auto, needs $4)])],
    [enable_driver_$2=$enableval], [enable_driver_$2=auto])
  nph_note=""
  AS_IF([test "x$enable_driver_$2" != xno], [
    nph_dep_ok=yes
    $5
    AS_IF([test "x$nph_dep_ok" = xyes], [enable_driver_$2=yes; nph_note="$6"], [
      AS_IF([test "x$enable_driver_$2" = xyes],
        [AC_MSG_ERROR([--enable-driver-$1 was given, but its dependency is missing: $4. Install it (on Debian: bash .ci/deps) or configure with --disable-driver-$1.])])
      enable_driver_$2=no
      nph_note="missing $4"])
  ], [nph_note="disabled by --disable-driver-$1"])
  AM_CONDITIONAL([BUILD_DRIVER_]m4_toupper([$2]), [test "x$enable_driver_$2" = xyes])
  nph_driver_summary="$nph_driver_summary
  m4_format([%-18s], [$1]) m4_format([%-4s], [$enable_driver_$2]) $nph_note"
])
