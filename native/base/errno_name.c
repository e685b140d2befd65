/* errno → symbolic name. A table, not strerrorname_np: that is glibc ≥ 2.32 only. */
#include "base/errno_name.h"

#include <errno.h>

#define NAME(e) \
  case e:       \
    return #e

const char *errno_name(int err) {
  switch (err) {
    NAME(EPERM);
    NAME(ENOENT);
    NAME(EINTR);
    NAME(EIO);
    NAME(ENXIO);
    NAME(EBADF);
    NAME(EAGAIN);
    NAME(ENOMEM);
    NAME(EACCES);
    NAME(EFAULT);
    NAME(EBUSY);
    NAME(EEXIST);
    NAME(ENODEV);
    NAME(EINVAL);
    NAME(ENFILE);
    NAME(EMFILE);
    NAME(ENOSPC);
    NAME(EPIPE);
    NAME(ERANGE);
    NAME(ENOSYS);
    NAME(ENOTSUP);
    NAME(EMSGSIZE);
    NAME(EPROTONOSUPPORT);
    NAME(EAFNOSUPPORT);
    NAME(EADDRINUSE);
    NAME(EADDRNOTAVAIL);
    NAME(ENETDOWN);
    NAME(ENETUNREACH);
    NAME(ENOBUFS);
    NAME(ECONNREFUSED);
    NAME(EHOSTUNREACH);
    NAME(EALREADY);
    NAME(ENOTCONN);
    NAME(ENOTTY);
    default:
      return "EUNKNOWN";
  }
}
