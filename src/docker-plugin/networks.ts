/**
 * Which overlayd network each Docker network of this host is. Docker names a
 * network to its driver only by its id (CreateNetwork carries no name), and
 * does not repeat CreateNetwork after a plugin restart, so the mapping is
 * kept in the agent's state folder (`docker-networks.json`) and survives
 * restarts of overlayd and of dockerd.
 */
import { join } from 'node:path';
import { readJsonFile, writeJsonFile } from './state-file.js';

/** What a Docker network was created as: enough to re-create its overlay if it was removed meanwhile. */
export interface DockerNetwork {
  /** The overlayd network's name. */
  network: string;
  subnet: string;
  encrypted: boolean;
  vni?: number;
  /** Set when created with -o multicast=true. */
  multicast?: boolean;
  multicastRate?: number;
}

export const DOCKER_STATE_FILE = 'docker-networks.json';

export class DockerNetworks {
  private readonly byId = new Map<string, DockerNetwork>();
  private readonly file: string;

  /** Loads the mapping from `stateDir` (none yet: empty). */
  constructor(stateDir: string) {
    this.file = join(stateDir, DOCKER_STATE_FILE);
    const saved = readJsonFile<Record<string, DockerNetwork>>(this.file) ?? {};
    for (const [id, n] of Object.entries(saved)) this.byId.set(id, n);
  }

  get(dockerId: string): DockerNetwork | undefined {
    return this.byId.get(dockerId);
  }

  /** Every mapped Docker network. */
  all(): [string, DockerNetwork][] {
    return [...this.byId];
  }

  /** Records (and saves) what Docker network `dockerId` is. */
  set(dockerId: string, n: DockerNetwork): void {
    this.byId.set(dockerId, n);
    this.save();
  }

  /** Forgets a Docker network; returns what it was. */
  delete(dockerId: string): DockerNetwork | undefined {
    const n = this.byId.get(dockerId);
    if (n && this.byId.delete(dockerId)) this.save();
    return n;
  }

  /** Whether another Docker network of this host still uses overlayd network `network`. */
  inUse(network: string): boolean {
    return [...this.byId.values()].some((n) => n.network === network);
  }

  private save(): void {
    writeJsonFile(this.file, Object.fromEntries(this.byId));
  }
}
