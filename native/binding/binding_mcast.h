// The multicast methods of DatapathHandle (binding_mcast.cc): the network setting, group tables, TAP injection, traces' replication lists.
#ifndef OVERLAYD_BINDING_MCAST_H
#define OVERLAYD_BINDING_MCAST_H

#include <napi.h>

extern "C" {
#include "datapath/datapath.h"
}

namespace overlayd {

/** Room for a traced group frame's replication list (more VTEPs are counted, not listed). */
constexpr uint32_t kTraceVteps = 4096;

/** Reads an optional `{ rate }` argument (frames/s, 0: no limit); false (no multicast) when absent or undefined. */
bool MulticastArg(const Napi::CallbackInfo &info, size_t i, dp_multicast *out);
/** groupSet(vni, mac, vteps: string[]) → false when the network is not attached (ignored). */
Napi::Value GroupSet(dp_datapath *dp, const Napi::CallbackInfo &info);
/** groups(vni) → [{ mac, vteps }] (canonical text, unsorted), or null when the network is not attached. */
Napi::Value Groups(dp_datapath *dp, const Napi::CallbackInfo &info);
/** inject(vni, frame) → whether the frame was written into the network's TAP. */
Napi::Value Inject(dp_datapath *dp, const Napi::CallbackInfo &info);
/** The replication list a trace recorded (its first kTraceVteps). */
Napi::Array TraceVteps(Napi::Env env, const dp_trace &t);

}  // namespace overlayd

#endif
