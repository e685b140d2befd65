/**
 * The member table and its state machine (memberlist's aliveNode,
 * suspectNode, deadNode, refute, mergeState): incarnation numbers decide
 * which news wins, accusations against us are refuted with a higher
 * incarnation, suspicions turn into deaths after a Lifeguard timeout, and
 * every accepted change is re-broadcast.
 */
import { buildVsn } from './config.js';
import type { EngineContext } from './context.js';
import { type NodeState, NodeStateType, deadOrLeft, ipToString, toNodeInfo, type NodeInfo } from './node.js';
import { Suspicion, suspicionTimeout } from './suspicion.js';
import { MessageType, type Alive, type Dead, type PushNodeState, type Suspect } from './wire/index.js';
import { prefixContains } from '../wire/index.js';

/** Nodes known to this member and the rules that change them. */
export class MemberTable {
  /** Nodes in probe order (shuffled round robin). */
  nodes: NodeState[] = [];
  /** Nodes by name. */
  readonly byName = new Map<string, NodeState>();
  private readonly suspicions = new Map<string, Suspicion>();
  private incarnation = 0;

  constructor(private readonly ctx: EngineContext) {}

  /** Count of known nodes (all states, reaped ones excluded): memberlist's estNumNodes. */
  estNumNodes(): number {
    return this.nodes.length;
  }

  /** Our own incarnation counter, incremented. */
  nextIncarnation(): number {
    this.incarnation = (this.incarnation + 1) >>> 0;
    return this.incarnation;
  }

  /** The local node's entry. */
  local(): NodeState | undefined {
    return this.byName.get(this.ctx.config.name);
  }

  /** True when any other node is neither dead nor left. */
  anyAlive(): boolean {
    return this.nodes.some((n) => !deadOrLeft(n) && n.name !== this.ctx.config.name);
  }

  /**
   * Removes nodes dead for longer than GossipToTheDeadTime and reshuffles the
   * probe order (memberlist's resetNodes).
   */
  resetNodes(): void {
    const now = this.ctx.clock.now();
    const keep: NodeState[] = [];
    for (const n of this.nodes) {
      if (n.state === NodeStateType.Dead && now - n.stateChange > this.ctx.config.gossipToTheDeadTimeMs) {
        this.byName.delete(n.name);
        this.suspicions.get(n.name)?.cancel();
        this.suspicions.delete(n.name);
      } else {
        keep.push(n);
      }
    }
    shuffle(keep, this.ctx.random);
    this.nodes = keep;
  }

  /** Handles news that a node is alive (memberlist's aliveNode). */
  aliveNode(a: Alive, bootstrap: boolean, notify?: () => void): void {
    const { config, delegates } = this.ctx;
    let state = this.byName.get(a.Node);
    if (this.ctx.hasLeft() && a.Node === config.name) return;
    if (a.Vsn.length >= 3) {
      const [pMin, pMax] = [a.Vsn[0]!, a.Vsn[1]!];
      if (pMin === 0 || pMax === 0 || pMin > pMax) {
        this.ctx.log('warn', `ignoring alive for ${a.Node}: bad protocol versions`);
        return;
      }
    }
    if (delegates.alive) {
      if (a.Vsn.length < 6) return;
      try {
        delegates.alive.notifyAlive(infoFromAlive(a));
      } catch (err) {
        this.ctx.log('warn', `ignoring alive for ${a.Node}: ${(err as Error).message}`);
        return;
      }
    }
    let updatesNode = false;
    if (!state) {
      if (!this.ipAllowed(a.Addr)) {
        this.ctx.stats.drop('blockedAddress');
        return;
      }
      state = {
        name: a.Node, addr: Buffer.from(a.Addr), port: a.Port, meta: Buffer.from(a.Meta), incarnation: 0,
        state: NodeStateType.Dead, stateChange: this.ctx.clock.now(), vsn: [0, 0, 0, 0, 0, 0],
      };
      if (a.Vsn.length > 5) state.vsn = vsnTuple(a.Vsn);
      this.byName.set(a.Node, state);
      // Insert at a random offset so joins do not all land at the end of the probe order.
      const n = this.nodes.length;
      const offset = n === 0 ? 0 : Math.floor(this.ctx.random() * n);
      this.nodes.push(state);
      [this.nodes[offset], this.nodes[n]] = [this.nodes[n]!, this.nodes[offset]!];
    } else if (!state.addr.equals(a.Addr) || state.port !== a.Port) {
      if (!this.ipAllowed(a.Addr)) {
        this.ctx.stats.drop('blockedAddress');
        return;
      }
      const canReclaim = config.deadNodeReclaimTimeMs > 0 && this.ctx.clock.now() - state.stateChange > config.deadNodeReclaimTimeMs;
      if (state.state === NodeStateType.Left || (state.state === NodeStateType.Dead && canReclaim)) {
        updatesNode = true;
      } else {
        this.ctx.log('error', `conflicting address for ${a.Node}: mine ${ipToString(state.addr)}:${state.port} theirs ${ipToString(a.Addr)}:${a.Port}`);
        delegates.conflict?.notifyConflict(toNodeInfo(state), infoFromAlive(a));
        return;
      }
    }
    const isLocal = state.name === config.name;
    if (a.Incarnation <= state.incarnation && !isLocal && !updatesNode) return;
    if (a.Incarnation < state.incarnation && isLocal) return;
    this.clearSuspicion(a.Node);
    const oldState = state.state;
    const oldMeta = state.meta;
    if (!bootstrap && isLocal) {
      // Someone speaks about us with our incarnation: only identical news is harmless.
      if (a.Incarnation === state.incarnation && a.Meta.equals(state.meta) && Buffer.from(state.vsn).equals(a.Vsn)) return;
      this.refute(state, a.Incarnation);
    } else {
      this.ctx.encodeAndBroadcast(a.Node, MessageType.Alive, a, notify);
      if (a.Vsn.length > 5) state.vsn = vsnTuple(a.Vsn);
      state.incarnation = a.Incarnation;
      state.meta = Buffer.from(a.Meta);
      state.addr = Buffer.from(a.Addr);
      state.port = a.Port;
      if (state.state !== NodeStateType.Alive) {
        state.state = NodeStateType.Alive;
        state.stateChange = this.ctx.clock.now();
      }
    }
    const events = delegates.events;
    if (events) {
      if (oldState === NodeStateType.Dead || oldState === NodeStateType.Left) events.notifyJoin(toNodeInfo(state));
      else if (!oldMeta.equals(state.meta)) events.notifyUpdate(toNodeInfo(state));
    }
  }

  /** Handles a suspicion (memberlist's suspectNode). */
  suspectNode(s: Suspect): void {
    const state = this.byName.get(s.Node);
    if (!state || s.Incarnation < state.incarnation) return;
    const running = this.suspicions.get(s.Node);
    if (running) {
      if (running.confirm(s.From)) this.ctx.encodeAndBroadcast(s.Node, MessageType.Suspect, s);
      return;
    }
    if (state.state !== NodeStateType.Alive) return;
    if (state.name === this.ctx.config.name) {
      this.refute(state, s.Incarnation);
      this.ctx.log('warn', `refuting a suspect message (from: ${s.From})`);
      return;
    }
    this.ctx.encodeAndBroadcast(s.Node, MessageType.Suspect, s);
    state.incarnation = s.Incarnation;
    state.state = NodeStateType.Suspect;
    const changeTime = this.ctx.clock.now();
    state.stateChange = changeTime;
    const { suspicionMult, suspicionMaxTimeoutMult, probeIntervalMs } = this.ctx.config;
    const n = this.estNumNodes();
    let k = suspicionMult - 2;
    if (n - 2 < k) k = 0;
    const min = suspicionTimeout(suspicionMult, n, probeIntervalMs);
    const max = suspicionMaxTimeoutMult * min;
    const name = s.Node;
    this.suspicions.set(name, new Suspicion(this.ctx.clock, s.From, k, min, max, (confirmations) => {
      const cur = this.byName.get(name);
      if (!cur || cur.state !== NodeStateType.Suspect || cur.stateChange !== changeTime) return;
      this.ctx.log('info', `marking ${name} as failed, suspect timeout reached (${confirmations} peer confirmations)`);
      this.deadNode({ Incarnation: cur.incarnation, Node: name, From: this.ctx.config.name });
    }));
  }

  /** Handles news of a death or a graceful leave (memberlist's deadNode). */
  deadNode(d: Dead, notify?: () => void): void {
    const state = this.byName.get(d.Node);
    if (!state || d.Incarnation < state.incarnation) return;
    this.clearSuspicion(d.Node);
    if (deadOrLeft(state)) return;
    if (state.name === this.ctx.config.name) {
      if (!this.ctx.hasLeft()) {
        this.refute(state, d.Incarnation);
        this.ctx.log('warn', `refuting a dead message (from: ${d.From})`);
        return;
      }
      this.ctx.encodeAndBroadcast(d.Node, MessageType.Dead, d, notify);
    } else {
      this.ctx.encodeAndBroadcast(d.Node, MessageType.Dead, d);
    }
    state.incarnation = d.Incarnation;
    state.state = d.Node === d.From ? NodeStateType.Left : NodeStateType.Dead;
    state.stateChange = this.ctx.clock.now();
    this.ctx.delegates.events?.notifyLeave(toNodeInfo(state));
  }

  /** Applies the node states of a push/pull (memberlist's mergeState). */
  mergeState(remote: PushNodeState[]): void {
    for (const r of remote) {
      switch (r.State) {
        case NodeStateType.Alive:
          this.aliveNode({ Incarnation: r.Incarnation, Node: r.Name, Addr: r.Addr, Port: r.Port, Meta: r.Meta, Vsn: r.Vsn }, false);
          break;
        case NodeStateType.Left:
          this.deadNode({ Incarnation: r.Incarnation, Node: r.Name, From: r.Name });
          break;
        case NodeStateType.Dead:
        case NodeStateType.Suspect:
          // A remote "dead" only makes us suspect: we check for ourselves.
          this.suspectNode({ Incarnation: r.Incarnation, Node: r.Name, From: this.ctx.config.name });
          break;
      }
    }
  }

  /** Our node states for a push/pull. */
  localPushStates(): PushNodeState[] {
    return this.nodes.map((n) => ({
      Name: n.name, Addr: n.addr, Port: n.port, Meta: n.meta, Incarnation: n.incarnation,
      State: n.state as 0 | 1 | 2 | 3, Vsn: Buffer.from(n.vsn),
    }));
  }

  /**
   * Checks that every alive node's protocol versions fit the range all of
   * them support (memberlist's verifyProtocol); returns an error text or undefined.
   */
  verifyProtocol(remote: PushNodeState[]): string | undefined {
    let maxpmin = 0, minpmax = 255, maxdmin = 0, mindmax = 255;
    const widen = (v: ArrayLike<number>): void => {
      maxpmin = Math.max(maxpmin, v[0]!); minpmax = Math.min(minpmax, v[1]!);
      maxdmin = Math.max(maxdmin, v[3]!); mindmax = Math.min(mindmax, v[4]!);
    };
    for (const r of remote) if (r.State === NodeStateType.Alive && r.Vsn.length >= 6) widen(r.Vsn);
    for (const n of this.nodes) if (n.state === NodeStateType.Alive) widen(n.vsn);
    const check = (name: string, pcur: number, dcur: number): string | undefined => {
      if (pcur < maxpmin || pcur > minpmax) return `node '${name}' protocol version (${pcur}) is incompatible: [${maxpmin}, ${minpmax}]`;
      if (dcur < maxdmin || dcur > mindmax) return `node '${name}' delegate protocol version (${dcur}) is incompatible: [${maxdmin}, ${mindmax}]`;
      return undefined;
    };
    for (const r of remote) {
      const err = check(r.Name, r.Vsn.length >= 6 ? r.Vsn[2]! : 0, r.Vsn.length >= 6 ? r.Vsn[5]! : 0);
      if (err) return err;
    }
    for (const n of this.nodes) {
      const err = check(n.name, n.vsn[2], n.vsn[5]);
      if (err) return err;
    }
    return undefined;
  }

  /** Stops every suspicion timer (shutdown). */
  stopTimers(): void {
    for (const s of this.suspicions.values()) s.cancel();
    this.suspicions.clear();
  }

  /**
   * Answers an accusation against us with an alive message whose incarnation
   * beats the accused one (memberlist's refute).
   */
  private refute(me: NodeState, accusedInc: number): void {
    let inc = this.nextIncarnation();
    if (accusedInc >= inc) {
      this.incarnation = (accusedInc + 1) >>> 0;
      inc = this.incarnation;
    }
    me.incarnation = inc;
    this.ctx.awareness.applyDelta(1);
    this.ctx.stats.refutations++;
    const a: Alive = { Incarnation: inc, Node: me.name, Addr: me.addr, Port: me.port, Meta: me.meta, Vsn: Buffer.from(me.vsn) };
    this.ctx.encodeAndBroadcast(me.name, MessageType.Alive, a);
  }

  /** Builds the local node's alive message and applies it (memberlist's setAlive / UpdateNode). */
  setAlive(addr: Buffer, port: number, meta: Buffer, notify?: () => void): void {
    const a: Alive = { Incarnation: this.nextIncarnation(), Node: this.ctx.config.name, Addr: addr, Port: port, Meta: meta, Vsn: buildVsn(this.ctx.config) };
    this.aliveNode(a, true, notify);
  }

  private clearSuspicion(name: string): void {
    const s = this.suspicions.get(name);
    if (s) {
      s.cancel();
      this.suspicions.delete(name);
    }
  }

  private ipAllowed(addr: Buffer): boolean {
    const cidrs = this.ctx.config.cidrsAllowed;
    return cidrs.length === 0 || cidrs.some((c) => prefixContains(c, addr));
  }
}

function vsnTuple(v: Buffer): NodeState['vsn'] {
  return [v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, v[5]!];
}

function infoFromAlive(a: Alive): NodeInfo {
  return { name: a.Node, addr: ipToString(a.Addr), port: a.Port, state: 'alive', incarnation: a.Incarnation, meta: Buffer.from(a.Meta), vsn: [...a.Vsn] };
}

/** Fisher–Yates shuffle in place. */
export function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

/** Up to `k` distinct random nodes for which `exclude` is false (memberlist's kRandomNodes). */
export function kRandomNodes(k: number, nodes: NodeState[], random: () => number, exclude: (n: NodeState) => boolean): NodeState[] {
  const out: NodeState[] = [];
  const n = nodes.length;
  for (let i = 0; i < 3 * n && out.length < k; i++) {
    const node = nodes[Math.floor(random() * n)]!;
    if (exclude(node) || out.includes(node)) continue;
    out.push(node);
  }
  return out;
}
