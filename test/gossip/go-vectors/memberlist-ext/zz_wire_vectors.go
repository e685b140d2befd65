package memberlist

// Test hooks added to package memberlist by test/gossip/go.ts (GOPATH
// overlay) so that the vector program can call memberlist's own unexported
// encoders and framers. Only glue lives here; every byte comes from the
// library's functions.

import (
	"bytes"
	"container/list"
	"errors"
	"io"
	"io/ioutil"
	"log"
	"net"
	"time"
)

// VectorEncode is memberlist's encode() for the message type named by t,
// filled from the generic field map f.
func VectorEncode(t int, body interface{}) ([]byte, error) {
	buf, err := encode(messageType(t), body)
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// VectorBody returns a pointer to a zero struct of the Go type memberlist
// uses for message type t ("pushNodeState" for t = -1).
func VectorBody(t int) interface{} {
	switch t {
	case -1:
		return &pushNodeState{}
	case int(pingMsg):
		return &ping{}
	case int(indirectPingMsg):
		return &indirectPingReq{}
	case int(ackRespMsg):
		return &ackResp{}
	case int(nackRespMsg):
		return &nackResp{}
	case int(errMsg):
		return &errResp{}
	case int(suspectMsg):
		return &suspect{}
	case int(aliveMsg):
		return &alive{}
	case int(deadMsg):
		return &dead{}
	case int(pushPullMsg):
		return &pushPullHeader{}
	case int(userMsg):
		return &userMsgHeader{}
	case int(compressMsg):
		return &compress{}
	}
	return nil
}

// VectorDecode is memberlist's decode().
func VectorDecode(buf []byte, out interface{}) error { return decode(buf, out) }

// VectorEncodeRaw encodes any value with memberlist's codec handle (no type byte).
func VectorEncodeRaw(body interface{}) ([]byte, error) {
	buf, err := encode(0, body)
	if err != nil {
		return nil, err
	}
	return buf.Bytes()[1:], nil
}

// VectorCompound is makeCompoundMessage.
func VectorCompound(msgs [][]byte) []byte { return makeCompoundMessage(msgs).Bytes() }

// VectorDecodeCompound is decodeCompoundMessage.
func VectorDecodeCompound(buf []byte) (int, [][]byte, error) { return decodeCompoundMessage(buf) }

// VectorCompress is compressPayload ([9][compress{LZW}]).
func VectorCompress(b []byte) ([]byte, error) {
	buf, err := compressPayload(b)
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// VectorDecompress is decompressPayload (input without the [9] type byte).
func VectorDecompress(b []byte) ([]byte, error) { return decompressPayload(b) }

// VectorEncrypt is encryptPayload.
func VectorEncrypt(vsn int, key, msg, aad []byte) ([]byte, error) {
	var buf bytes.Buffer
	err := encryptPayload(encryptionVersion(vsn), key, msg, aad, &buf)
	return buf.Bytes(), err
}

// VectorDecrypt is decryptPayload.
func VectorDecrypt(keys [][]byte, msg, aad []byte) ([]byte, error) {
	return decryptPayload(keys, append([]byte(nil), msg...), aad)
}

func vectorMemberlist(conf *Config) *Memberlist {
	if conf.Logger == nil {
		conf.Logger = log.New(ioutil.Discard, "", 0)
	}
	return &Memberlist{config: conf, logger: conf.Logger}
}

// VectorStreamWrite runs rawSendMsgStream (compression, encryption) and
// returns what it writes to the connection.
func VectorStreamWrite(conf *Config, msg []byte) ([]byte, error) {
	m := vectorMemberlist(conf)
	a, b := net.Pipe()
	done := make(chan []byte)
	go func() {
		out, _ := ioutil.ReadAll(b)
		done <- out
	}()
	err := m.rawSendMsgStream(a, msg)
	a.Close()
	out := <-done
	return out, err
}

// VectorStreamRead runs readStream (decryption, decompression) on input and
// returns the message type and the remaining bytes of the message.
func VectorStreamRead(conf *Config, input []byte) (int, []byte, error) {
	m := vectorMemberlist(conf)
	a, b := net.Pipe()
	go func() {
		a.Write(input)
		a.Close()
	}()
	t, r, _, err := m.readStream(b)
	if err != nil {
		return 0, nil, err
	}
	rest, err := ioutil.ReadAll(r)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, nil, err
	}
	return int(t), rest, nil
}

// captureTransport records what memberlist writes to the network.
type captureTransport struct{ packets [][]byte }

func (t *captureTransport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return net.IPv4(198, 18, 0, 1), 7946, nil
}
func (t *captureTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	t.packets = append(t.packets, append([]byte(nil), b...))
	return time.Now(), nil
}
func (t *captureTransport) WriteToAddress(b []byte, addr Address) (time.Time, error) {
	return t.WriteTo(b, addr.Addr)
}
func (t *captureTransport) PacketCh() <-chan *Packet { return nil }
func (t *captureTransport) DialTimeout(string, time.Duration) (net.Conn, error) {
	return nil, errors.New("no dial")
}
func (t *captureTransport) DialAddressTimeout(Address, time.Duration) (net.Conn, error) {
	return nil, errors.New("no dial")
}
func (t *captureTransport) StreamCh() <-chan net.Conn                              { return nil }
func (t *captureTransport) Shutdown() error                                        { return nil }
func (t *captureTransport) IngestPacket(net.Conn, net.Addr, time.Time, bool) error { return nil }
func (t *captureTransport) IngestStream(net.Conn) error                            { return nil }

// VectorSendPacket runs rawSendMsgPacket (compression if it shrinks, CRC
// toward a node with PMax >= 5, encryption) and returns the packet written.
func VectorSendPacket(conf *Config, pmax uint8, msg []byte) ([]byte, error) {
	m := vectorMemberlist(conf)
	t := &captureTransport{}
	m.transport = t
	node := &Node{Name: "peer", PMin: 1, PMax: pmax, PCur: 2}
	if err := m.rawSendMsgPacket(Address{Addr: "198.18.0.2:7946", Name: "peer"}, node, msg); err != nil {
		return nil, err
	}
	if len(t.packets) != 1 {
		return nil, errors.New("nothing sent")
	}
	return t.packets[0], nil
}

// VectorQueued is one message memberlist's packet path queued for its handler.
type VectorQueued struct {
	Type int
	Body []byte
}

// VectorIngest runs ingestPacket (decryption, CRC, compound, compression) on
// one packet and returns the alive/suspect/dead/user messages it queued.
func VectorIngest(conf *Config, packet []byte) []VectorQueued {
	m := vectorMemberlist(conf)
	m.highPriorityMsgQueue = list.New()
	m.lowPriorityMsgQueue = list.New()
	m.handoffCh = make(chan struct{}, 1)
	m.ingestPacket(append([]byte(nil), packet...), &net.UDPAddr{IP: net.IPv4(198, 18, 0, 2), Port: 7946}, time.Now())
	var out []VectorQueued
	for _, q := range []*list.List{m.highPriorityMsgQueue, m.lowPriorityMsgQueue} {
		for e := q.Front(); e != nil; e = e.Next() {
			h := e.Value.(msgHandoff)
			out = append(out, VectorQueued{Type: int(h.msgType), Body: h.buf})
		}
	}
	return out
}
