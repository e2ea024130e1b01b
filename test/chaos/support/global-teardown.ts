import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import sharedTeardown from '../../support/global-teardown';
import { REPO_ROOT } from './global-setup';

/** The shared teardown, then the Redis Cluster of the CHAOS_REDIS=cluster profile (when one was started). */
export default async function globalTeardown(): Promise<void> {
  await sharedTeardown();
  const dir = process.env.CHAOS_REDIS_CLUSTER_DIR;
  if (dir) {
    execFileSync(join(REPO_ROOT, 'scripts', 'topology', 'cluster.sh'), ['down'], {
      env: { ...process.env, TOPOLOGY_DIR: dir, CLUSTER_PORT: process.env.CHAOS_REDIS_CLUSTER_PORT ?? '' },
      stdio: 'ignore',
    });
    rmSync(dir, { recursive: true, force: true });
  }
}
