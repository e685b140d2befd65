// Command go-vectors answers one JSON request on stdin with one JSON answer
// on stdout, using hashicorp/memberlist's own (unexported, via the
// memberlist-ext overlay) encoders, framers and ciphers. The TypeScript
// golden tests compare our bytes with these.
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/hashicorp/memberlist"
)

// Config selects memberlist settings for the framing operations.
type Config struct {
	Keys            []string
	Compress        bool
	ProtocolVersion uint8
	VerifyIncoming  bool
	VerifyOutgoing  bool
}

// Item is one body to encode (Body, as JSON with []byte in base64) or to
// decode (Hex). Type -1 is pushNodeState.
type Item struct {
	Type int
	Body json.RawMessage
	Hex  string
}

// Request is the whole input.
type Request struct {
	Op     string
	Items  []Item
	Inputs []string
	Keys   []string
	Key    string
	Aad    string
	Vsn    int
	PMax   uint8
	Config Config
}

// Answer is the whole output; Errors[i] is "" when Outputs[i] is valid.
type Answer struct {
	Outputs []string                    `json:",omitempty"`
	Decoded []json.RawMessage           `json:",omitempty"`
	Types   []int                       `json:",omitempty"`
	Errors  []string                    `json:",omitempty"`
	Trunc   []int                       `json:",omitempty"`
	Queued  [][]memberlist.VectorQueued `json:",omitempty"`
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		fail(err)
	}
	return b
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	if err.Error() == "" {
		return "error"
	}
	return err.Error()
}

func config(c Config) *memberlist.Config {
	conf := memberlist.DefaultLANConfig()
	conf.EnableCompression = c.Compress
	if c.ProtocolVersion != 0 {
		conf.ProtocolVersion = c.ProtocolVersion
	}
	conf.GossipVerifyIncoming = c.VerifyIncoming
	conf.GossipVerifyOutgoing = c.VerifyOutgoing
	if len(c.Keys) > 0 {
		var keys [][]byte
		for _, k := range c.Keys {
			keys = append(keys, unhex(k))
		}
		ring, err := memberlist.NewKeyring(keys, keys[0])
		if err != nil {
			fail(err)
		}
		conf.Keyring = ring
	}
	return conf
}

func main() {
	var req Request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fail(err)
	}
	var ans Answer
	add := func(out []byte, err error) {
		ans.Outputs = append(ans.Outputs, hex.EncodeToString(out))
		ans.Errors = append(ans.Errors, errString(err))
	}
	switch req.Op {
	case "encode":
		for _, it := range req.Items {
			body := memberlist.VectorBody(it.Type)
			if body == nil {
				fail(fmt.Errorf("no body type %d", it.Type))
			}
			if err := json.Unmarshal(it.Body, body); err != nil {
				fail(err)
			}
			if it.Type < 0 {
				add(memberlist.VectorEncodeRaw(body))
			} else {
				add(memberlist.VectorEncode(it.Type, body))
			}
		}
	case "decode":
		for _, it := range req.Items {
			body := memberlist.VectorBody(it.Type)
			err := memberlist.VectorDecode(unhex(it.Hex), body)
			js, _ := json.Marshal(body)
			ans.Decoded = append(ans.Decoded, js)
			ans.Errors = append(ans.Errors, errString(err))
		}
	case "compound":
		var parts [][]byte
		for _, in := range req.Inputs {
			parts = append(parts, unhex(in))
		}
		add(memberlist.VectorCompound(parts), nil)
	case "decode-compound":
		for _, in := range req.Inputs {
			trunc, parts, err := memberlist.VectorDecodeCompound(unhex(in))
			var hs []string
			for _, p := range parts {
				hs = append(hs, hex.EncodeToString(p))
			}
			js, _ := json.Marshal(hs)
			ans.Decoded = append(ans.Decoded, js)
			ans.Trunc = append(ans.Trunc, trunc)
			ans.Errors = append(ans.Errors, errString(err))
		}
	case "compress":
		for _, in := range req.Inputs {
			add(memberlist.VectorCompress(unhex(in)))
		}
	case "decompress":
		for _, in := range req.Inputs {
			add(memberlist.VectorDecompress(unhex(in)))
		}
	case "encrypt":
		for _, in := range req.Inputs {
			add(memberlist.VectorEncrypt(req.Vsn, unhex(req.Key), unhex(in), unhex(req.Aad)))
		}
	case "decrypt":
		var keys [][]byte
		for _, k := range req.Keys {
			keys = append(keys, unhex(k))
		}
		for _, in := range req.Inputs {
			add(memberlist.VectorDecrypt(keys, unhex(in), unhex(req.Aad)))
		}
	case "send-packet":
		for _, in := range req.Inputs {
			add(memberlist.VectorSendPacket(config(req.Config), req.PMax, unhex(in)))
		}
	case "ingest":
		for _, in := range req.Inputs {
			ans.Queued = append(ans.Queued, memberlist.VectorIngest(config(req.Config), unhex(in)))
		}
	case "stream-write":
		for _, in := range req.Inputs {
			add(memberlist.VectorStreamWrite(config(req.Config), unhex(in)))
		}
	case "stream-read":
		for _, in := range req.Inputs {
			t, rest, err := memberlist.VectorStreamRead(config(req.Config), unhex(in))
			ans.Types = append(ans.Types, t)
			add(rest, err)
		}
	default:
		fail(fmt.Errorf("unknown op %q", req.Op))
	}
	if err := json.NewEncoder(os.Stdout).Encode(&ans); err != nil {
		fail(err)
	}
}
