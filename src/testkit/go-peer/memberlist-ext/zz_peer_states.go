package memberlist

// Test-only accessors for the go-peer program (added to package memberlist
// in a private GOPATH overlay by test/gossip/go.ts; never shipped).

// PeerState is one entry of the member table as the test peer reports it.
type PeerState struct {
	Name        string
	Addr        string
	Port        uint16
	State       int
	Incarnation uint32
}

// PeerStates lists every node in the member table, dead and left ones included.
func (m *Memberlist) PeerStates() []PeerState {
	m.nodeLock.RLock()
	defer m.nodeLock.RUnlock()
	return m.peerStatesLocked()
}

// PeerStateLocked returns the state of one node; the caller holds nodeLock
// (event delegates are called with it held).
func (m *Memberlist) PeerStateLocked(name string) int {
	if n, ok := m.nodeMap[name]; ok {
		return int(n.State)
	}
	return -1
}

func (m *Memberlist) peerStatesLocked() []PeerState {
	out := make([]PeerState, 0, len(m.nodes))
	for _, n := range m.nodes {
		out = append(out, PeerState{Name: n.Name, Addr: n.Addr.String(), Port: n.Port, State: int(n.State), Incarnation: n.Incarnation})
	}
	return out
}

// InjectAlive adds a node to the table as if an alive message had arrived
// (used to give push/pull exchanges many node states).
func (m *Memberlist) InjectAlive(name string, addr []byte, port uint16, incarnation uint32) {
	a := alive{Incarnation: incarnation, Node: name, Addr: addr, Port: port, Vsn: m.config.BuildVsnArray()}
	m.aliveNode(&a, nil, false)
}
