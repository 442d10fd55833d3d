/** The trainer's generator is `@sage/core`'s `Rng` (xoshiro128** seeded through splitmix32; same streams as before). */
export { Rng, type RngState } from "@sage/core";
