// Drop events and per-network drop counts of DatapathHandle (binding_drops.cc).
#ifndef OVERLAYD_BINDING_DROPS_H
#define OVERLAYD_BINDING_DROPS_H

#include <napi.h>

extern "C" {
#include "datapath/datapath.h"
}

namespace overlayd {

/**
 * Takes every queued drop event: [{ reason (index), direction, kind: 'frame' |
 * 'vxlan' | 'esp', vni?, vtep?, suppressed, len, head }]; `*lost` gets the
 * events the full ring lost so far.
 */
Napi::Array DrainDropEvents(Napi::Env env, drop_sampler *s, uint64_t *lost);
/** networkDrops(vni) → the network's drops by reason index (the workers' I/O loops), or null without the network. */
Napi::Value NetworkDrops(dp_datapath *dp, const Napi::CallbackInfo &info);

}  // namespace overlayd

#endif
