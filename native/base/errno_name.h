/*
 * errno → stable symbolic name ("EPERM"), so JavaScript errors carry a `code`
 * callers can branch on instead of message text.
 */
#ifndef OVERLAYD_ERRNO_NAME_H
#define OVERLAYD_ERRNO_NAME_H

#ifdef __cplusplus
extern "C" {
#endif

/** Symbolic name of a positive errno value; "EUNKNOWN" when not known. */
const char *errno_name(int err);

#ifdef __cplusplus
}
#endif

#endif
