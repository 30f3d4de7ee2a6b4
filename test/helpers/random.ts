/**
 * Seeded randomness for tests that must be replayable: the seed comes from
 * RESTORABLE_TEST_SEED or is drawn, and the test prints it.
 */

/** The run's seed: RESTORABLE_TEST_SEED, else a random one. */
export const TEST_SEED = Number(process.env.RESTORABLE_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32 (Tommy Ettinger's 32-bit PRNG): a small, fast seeded generator of floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
