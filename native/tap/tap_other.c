/* TAP stub for platforms without /dev/net/tun: the addon loads, TAPs are unsupported. */
#include <errno.h>

#include "tap/tap.h"

#ifndef ENOTSUP
#define ENOTSUP 95
#endif

int tap_supported(void) { return 0; }

int tap_open(const char *name, int opts) {
  (void)name;
  (void)opts;
  return -ENOTSUP;
}

int tap_open_queues(const char *name, int opts, int n, int *fds) {
  (void)name;
  (void)opts;
  (void)n;
  (void)fds;
  return -ENOTSUP;
}

int tap_set_txqueuelen(const char *name, int len) {
  (void)name;
  (void)len;
  return -ENOTSUP;
}

int tap_uso_enabled(void) { return 0; }
