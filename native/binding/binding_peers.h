// The VTEP-probe and per-VTEP-counter methods of DatapathHandle (binding_peers.cc).
#ifndef OVERLAYD_BINDING_PEERS_H
#define OVERLAYD_BINDING_PEERS_H

#include <napi.h>

extern "C" {
#include "datapath/datapath.h"
}

namespace overlayd {

/** probeSend(vni, vtep, frame) → −1 when sent, else the drop reason index. */
Napi::Value ProbeSend(dp_datapath *dp, const Napi::CallbackInfo &info);
/** peerCounters() → [{ vtep, txPackets, txBytes, rxPackets, rxBytes }], one per remote VTEP of any network. */
Napi::Value PeerCounters(dp_datapath *dp, const Napi::CallbackInfo &info);

}  // namespace overlayd

#endif
