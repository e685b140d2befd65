/**
 * vitest glue for topologies (the only harness file that imports vitest):
 * one topology per `describe` block, created before its tests and destroyed
 * after them, pass or fail.
 *
 *     describe.skipIf(!requirement(haveNetns(), 'needs root'))('…', () => {
 *       const topo = useTopology({ hosts: 3 });
 *       it('…', async () => { await topo().exec(topo().host(1).ns, ['ping', …]); });
 *     });
 */
import { afterAll, beforeAll } from 'vitest';
import { HarnessError } from '../../src/testkit/errors.js';
import { Topology, type TopologyOptions } from '../../src/testkit/topology.js';

/** Creates a topology in `beforeAll`, destroys it in `afterAll`; returns its getter. */
export function useTopology(options: TopologyOptions): () => Topology {
  let topology: Topology | undefined;
  beforeAll(async () => {
    topology = await Topology.create(options);
  });
  afterAll(async () => {
    await topology?.destroy();
  });
  return () => {
    if (!topology) throw new HarnessError('DESTROYED', 'useTopology: the topology exists only while the tests of its block run');
    return topology;
  };
}
