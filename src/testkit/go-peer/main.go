// Command go-peer runs one hashicorp/memberlist node for the interop tests.
// It prints one JSON object per line on stdout (events, member lists) and
// reads commands on stdin, one per line:
//
//	members            print {"event":"members","members":[...]} (dead and left included)
//	join ADDR[,ADDR]   join more nodes
//	user-udp NODE TEXT send a best-effort user message
//	user-tcp NODE TEXT send a reliable user message
//	leave              leave gracefully, shut down, exit
//	quit               shut down without leaving, exit
//
// SIGTERM leaves gracefully as well.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

var (
	out     = json.NewEncoder(os.Stdout)
	outLock sync.Mutex
	ml      *memberlist.Memberlist
)

var stateNames = map[int]string{0: "alive", 1: "suspect", 2: "dead", 3: "left", -1: "unknown"}

func emit(v map[string]interface{}) {
	v["t"] = time.Now().UnixNano() / 1e6
	outLock.Lock()
	defer outLock.Unlock()
	_ = out.Encode(v)
}

type events struct{}

func (events) NotifyJoin(n *memberlist.Node) {
	emit(map[string]interface{}{"event": "join", "node": n.Name, "addr": n.Addr.String(), "port": n.Port})
}

func (events) NotifyLeave(n *memberlist.Node) {
	state := -1
	if ml != nil {
		state = ml.PeerStateLocked(n.Name) // delegate runs with the node lock held
	}
	emit(map[string]interface{}{"event": "leave", "node": n.Name, "state": stateNames[state]})
}

func (events) NotifyUpdate(n *memberlist.Node) {
	emit(map[string]interface{}{"event": "update", "node": n.Name, "meta": string(n.Meta)})
}

type delegate struct {
	meta      []byte
	userState []byte
}

func (d *delegate) NodeMeta(limit int) []byte { return d.meta }
func (d *delegate) NotifyMsg(b []byte) {
	emit(map[string]interface{}{"event": "msg", "data": string(b)})
}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *delegate) LocalState(join bool) []byte                { return d.userState }
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	emit(map[string]interface{}{"event": "remote-state", "data": string(buf), "join": join})
}

func members() {
	var list []map[string]interface{}
	for _, p := range ml.PeerStates() {
		list = append(list, map[string]interface{}{"name": p.Name, "addr": p.Addr, "port": p.Port, "state": stateNames[p.State], "incarnation": p.Incarnation})
	}
	emit(map[string]interface{}{"event": "members", "members": list, "health": ml.GetHealthScore()})
}

func main() {
	name := flag.String("name", "", "node name")
	bind := flag.String("bind", "127.0.0.1", "bind address")
	port := flag.Int("port", 0, "bind port (0: pick one)")
	advertise := flag.String("advertise", "", "advertise address")
	join := flag.String("join", "", "comma-separated addresses to join")
	key := flag.String("key", "", "base64 secret key (16/24/32 bytes)")
	verifyIn := flag.Bool("verify-incoming", true, "GossipVerifyIncoming")
	verifyOut := flag.Bool("verify-outgoing", true, "GossipVerifyOutgoing")
	compress := flag.Bool("compress", true, "EnableCompression")
	meta := flag.String("meta", "", "node meta")
	userState := flag.String("user-state", "", "delegate local state for push/pull")
	fakeNodes := flag.Int("fake-nodes", 0, "inject this many fake alive nodes (198.18.100.x) into the table")
	pushPull := flag.Duration("push-pull", 30*time.Second, "PushPullInterval")
	verbose := flag.Bool("v", false, "memberlist logs on stderr")
	flag.Parse()

	conf := memberlist.DefaultLANConfig()
	conf.Name = *name
	conf.BindAddr = *bind
	conf.BindPort = *port
	conf.AdvertiseAddr = *advertise
	conf.AdvertisePort = *port
	conf.GossipVerifyIncoming = *verifyIn
	conf.GossipVerifyOutgoing = *verifyOut
	conf.EnableCompression = *compress
	conf.PushPullInterval = *pushPull
	conf.Events = events{}
	conf.Delegate = &delegate{meta: []byte(*meta), userState: []byte(*userState)}
	if *verbose {
		conf.LogOutput = os.Stderr
	} else {
		conf.LogOutput = ioutil.Discard
	}
	conf.Logger = nil
	if *key != "" {
		k, err := base64.StdEncoding.DecodeString(*key)
		if err != nil {
			log.Fatalf("bad key: %v", err)
		}
		conf.SecretKey = k
	}
	if *port == 0 {
		// Pick a port free for both TCP and UDP, as NetTransport needs one.
		l, err := net.Listen("tcp", net.JoinHostPort(*bind, "0"))
		if err != nil {
			log.Fatal(err)
		}
		conf.BindPort = l.Addr().(*net.TCPAddr).Port
		conf.AdvertisePort = conf.BindPort
		l.Close()
	}
	var err error
	ml, err = memberlist.Create(conf)
	if err != nil {
		emit(map[string]interface{}{"event": "error", "error": err.Error()})
		os.Exit(1)
	}
	for i := 0; i < *fakeNodes; i++ {
		ml.InjectAlive(fmt.Sprintf("fake-%03d", i), []byte{198, 18, 100, byte(i + 1)}, 7946, 1)
	}
	emit(map[string]interface{}{"event": "ready", "name": conf.Name, "port": conf.BindPort})
	if *join != "" {
		n, err := ml.Join(strings.Split(*join, ","))
		if err != nil {
			emit(map[string]interface{}{"event": "join-result", "joined": n, "error": err.Error()})
		} else {
			emit(map[string]interface{}{"event": "join-result", "joined": n})
		}
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		leaveAndExit()
	}()

	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		fields := strings.SplitN(strings.TrimSpace(scanner.Text()), " ", 3)
		switch fields[0] {
		case "members":
			members()
		case "join":
			if len(fields) > 1 {
				n, err := ml.Join(strings.Split(fields[1], ","))
				res := map[string]interface{}{"event": "join-result", "joined": n}
				if err != nil {
					res["error"] = err.Error()
				}
				emit(res)
			}
		case "user-udp", "user-tcp":
			if len(fields) == 3 {
				sendUser(fields[0], fields[1], fields[2])
			}
		case "leave":
			leaveAndExit()
		case "quit":
			ml.Shutdown()
			os.Exit(0)
		}
	}
	// stdin closed: behave like quit, so a dying test never leaves us behind.
	ml.Shutdown()
}

func sendUser(kind, to, text string) {
	for _, n := range ml.Members() {
		if n.Name != to {
			continue
		}
		var err error
		if kind == "user-udp" {
			err = ml.SendBestEffort(n, []byte(text))
		} else {
			err = ml.SendReliable(n, []byte(text))
		}
		res := map[string]interface{}{"event": "sent", "to": to}
		if err != nil {
			res["error"] = err.Error()
		}
		emit(res)
		return
	}
	emit(map[string]interface{}{"event": "sent", "to": to, "error": "no such member"})
}

func leaveAndExit() {
	err := ml.Leave(5 * time.Second)
	res := map[string]interface{}{"event": "left"}
	if err != nil {
		res["error"] = err.Error()
	}
	emit(res)
	// Give the leave a moment on the wire before the sockets close.
	time.Sleep(200 * time.Millisecond)
	ml.Shutdown()
	os.Exit(0)
}
