/**
 * What each removal dockerd asks for does at the agent: the `run` of
 * PendingCleanups (cleanups.ts), whether it is delivered at once or replayed
 * after the agent was down. Each is idempotent: what is gone already is done.
 *
 * Address reuse. An address comes free when its endpoint is removed
 * (the agent keeps it only as long as an endpoint or a reservation holds it),
 * but dockerd releases it only afterwards, with ReleaseAddress, which names
 * the address and nothing else. Between the two, a new container may be handed
 * the same address (RequestAddress holds it for that container's
 * CreateEndpoint). The old container's late release must then not take the
 * new container's hold. AddressReuse remembers which addresses came free by
 * an endpoint's removal and were handed out again since: the next release of
 * such an address is the old endpoint's, and is skipped. (A release of an
 * address that was handed out and never used — a CreateEndpoint that failed
 * — is not skipped: that one is the new holder's own.) A pending release
 * whose address is handed out again is dropped from the queue outright
 * (PendingCleanups.cancel), for the same reason.
 */
import type { AgentConnection } from './agent.js';
import type { Cleanup } from './cleanups.js';
import type { DockerNetworks } from './networks.js';

/** At most this many addresses remembered (the oldest are forgotten: a release then works as before). */
const MAX_REMEMBERED = 4096;

export class AddressReuse {
  private readonly freedByRemoval = new Set<string>();
  private readonly givenAgain = new Set<string>();

  /** The endpoint that had `ip` on `network` was removed. */
  freed(network: string, ip: string): void {
    remember(this.freedByRemoval, `${network} ${ip}`);
  }

  /** `ip` on `network` was handed out (RequestAddress) for a new endpoint. */
  given(network: string, ip: string): void {
    const k = `${network} ${ip}`;
    if (this.freedByRemoval.delete(k)) remember(this.givenAgain, k);
  }

  /** Whether a release of `ip` is the removed endpoint's, coming after the address was handed out again (consumes the mark). */
  staleRelease(network: string, ip: string): boolean {
    const k = `${network} ${ip}`;
    this.freedByRemoval.delete(k);
    return this.givenAgain.delete(k);
  }
}

function remember(set: Set<string>, k: string): void {
  set.delete(k);
  set.add(k);
  if (set.size > MAX_REMEMBERED) set.delete(set.values().next().value as string);
}

/** The removal of one Cleanup at the agent (AGENT_DOWN when it does not answer). */
export function removal(agent: AgentConnection, nets: DockerNetworks, reuse: AddressReuse): (c: Cleanup) => Promise<void> {
  return async (c) => {
    switch (c.kind) {
      case 'endpoint': {
        // By Docker's endpoint id, which no other container ever has: a new container's endpoint is never touched.
        const m = await agent.movable(c.container);
        if (!m) return;
        await agent.detachEndpoint(m.endpoint.id);
        reuse.freed(m.endpoint.network, m.endpoint.ip);
        return;
      }
      case 'address': {
        const network = await agent.networkOfSubnet(c.subnet);
        if (!network || reuse.staleRelease(network.name, c.ip)) return;
        await agent.releaseAddress(network.name, c.ip);
        return;
      }
      case 'network': {
        // Decided when delivered: a Docker network created meanwhile on the overlay, or an endpoint anywhere, keeps it.
        if (nets.inUse(c.network)) return;
        if ((await agent.endpoints(c.network)).length === 0) await agent.removeNetwork(c.network);
        return;
      }
    }
  };
}
