// The capture methods of DatapathHandle (binding_capture.cc): capture options in, punted packets out.
#ifndef OVERLAYD_BINDING_CAPTURE_H
#define OVERLAYD_BINDING_CAPTURE_H

#include <napi.h>

extern "C" {
#include "io/punt.h"
#include "tables/tables.h"
}

namespace overlayd {

/**
 * Reads argument i: `{ inner?, outer?, host?, vtep? }` (booleans, address
 * texts), or a boolean (true: inner frames, as before filters). Throws
 * ERR_INVALID_ARG_VALUE for an address that does not parse.
 */
dp_capture CaptureArg(const Napi::CallbackInfo &info, size_t i);
/** One punted item as JavaScript sees it: `{ vni, direction, vtep?, frame, outer?: { proto, localPort, remotePort } }`. */
Napi::Object PuntItemObject(Napi::Env env, const punt_item &item);

}  // namespace overlayd

#endif
