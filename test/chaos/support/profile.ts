import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './global-setup';

export type ChaosProfileName = 'short' | 'long';

/** CHAOS_PROFILE=short (default; CI, a few minutes in all) or long (the figures, by hand). */
export const PROFILE: ChaosProfileName = process.env.CHAOS_PROFILE === 'long' ? 'long' : 'short';

/**
 * CHAOS_REDIS=cluster runs every scenario on a Redis Cluster of the suite's own (three masters, three
 * replicas, started by scripts/topology/cluster.sh in global setup) instead of the standalone Redis.
 * A scenario that sets its own REDIS_URL (a proxy in front of Redis) keeps it.
 */
export const REDIS_PROFILE: 'standalone' | 'cluster' =
  process.env.CHAOS_REDIS === 'cluster' ? 'cluster' : 'standalone';

/** Picks the figure of the running profile. */
export function sized<T>(short: T, long: T): T {
  return PROFILE === 'long' ? long : short;
}

export interface ChaosFigures {
  scenario: string;
  orders: number;
  kills: number;
  violations: number;
  durationMs: number;
  [more: string]: unknown;
}

/** Prints one scenario's figures as a JSON line and keeps them in test-results/chaos/<profile>/. */
export function reportFigures(figures: ChaosFigures): void {
  const line = JSON.stringify({ profile: PROFILE, seed: CHAOS_SEED, ...figures });
  process.stdout.write(`CHAOS ${line}\n`);
  const dir = join(REPO_ROOT, 'test-results', 'chaos', PROFILE);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${figures.scenario}.json`), `${line}\n`);
}

/** A seeded PRNG (mulberry32), so a run's random kill moments can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const CHAOS_SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);
