/** A source of uniform numbers in [0, 1): `Math.random` in production, seeded in tests. */
export type RandomSource = () => number;

/**
 * mulberry32: a tiny, fast 32-bit PRNG, good enough for simulating outcomes (not for secrets).
 * The same seed gives the same sequence, so a failing scenario can be replayed exactly.
 */
export function mulberry32(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomSource(seed: number | undefined): RandomSource {
  return seed === undefined ? Math.random : mulberry32(seed);
}
