import { afterAll, beforeAll, describe, it } from "vitest";
import { contextFromDevice, type GpuContext, rmsnorm, rmsnormBackward } from "../src/index.js";
import { rmsnormBackwardRef, rmsnormRef } from "../src/reference/rmsnorm.js";
import { assertAllclose, createTestContext, expectClean, randomF32 } from "../src/testing.js";

// Kernels that pick a variant from the adapter report (software adapters such as lavapipe get the
// barrier-free one) run here through a context wrapped around the same device without an adapter,
// which therefore takes the hardware path. Tolerances as in rmsnorm.test.ts.
let ctx: GpuContext;
let hw: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
  hw = contextFromDevice(ctx.device, { label: "hardware-path" });
});
afterAll(() => {
  hw.destroy();
  ctx.destroy();
});

describe("hardware variants", () => {
  for (const [R, D] of [
    [3, 7],
    [65, 100],
  ] as const) {
    it(`rmsnorm workgroup kernels, forward and backward vs f64 reference, R=${R} D=${D}`, async () => {
      const eps = 1e-5;
      const x = randomF32(R * D, R + D);
      const w = randomF32(D, 2, 0.5, 1.5);
      const dy = randomF32(R * D, 3);
      using tx = hw.tensor(x, [R, D], "x");
      using tw = hw.tensor(w, [D], "w");
      using tdy = hw.tensor(dy, [R, D], "dy");
      const f = rmsnorm(hw, tx, tw, { eps });
      using y = f.y;
      using rstd = f.rstd;
      const ref = rmsnormRef(x, w, D, eps);
      assertAllclose(await y.read(), ref.y, { rtol: 2e-5, atol: 2e-5, label: "y" });
      assertAllclose(await rstd.read(), ref.rstd, { rtol: 2e-5, atol: 0, label: "rstd" });
      const b = rmsnormBackward(hw, tdy, tx, tw, rstd);
      using dx = b.dx;
      using dweight = b.dweight;
      const rb = rmsnormBackwardRef(dy, x, w, D, eps);
      assertAllclose(await dx.read(), rb.dx, { rtol: 1e-4, atol: 2e-5, label: "dx" });
      assertAllclose(await dweight.read(), rb.dweight, { rtol: 1e-4, atol: 1e-5 * R, label: "dweight" });
    });
  }

  it("leaves both contexts clean", async () => {
    await expectClean(hw);
    await expectClean(ctx);
  });
});
