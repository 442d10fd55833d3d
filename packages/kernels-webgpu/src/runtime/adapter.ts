import { KernelError } from "./errors.js";

/** What benchmarks print about the adapter a run used. */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Graphics API underneath WebGPU, when it can be told ("vulkan", "metal", "d3d12", "opengles", "browser"). */
  backend: string;
  /** True for CPU implementations (Mesa lavapipe/llvmpipe, SwiftShader, WARP). */
  isSoftware: boolean;
  features: string[];
  limits: Record<string, number>;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|warp|software|basic render/i;

export function reportAdapter(adapter: GPUAdapter, backendHint?: string): AdapterReport {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const limits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === "number") limits[key] = v;
  }
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  const backend =
    backendHint ??
    (/vulkan|mesa|llvmpipe|nvidia|radv/i.test(text)
      ? "vulkan"
      : /metal|apple/i.test(text)
        ? "metal"
        : /d3d|direct3d/i.test(text)
          ? "d3d12"
          : "unknown");
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    backend,
    isSoftware: info.isFallbackAdapter === true || SOFTWARE.test(text),
    features: [...adapter.features].map(String).sort(),
    limits,
  };
}

/** One line for logs and benchmark headers. */
export function formatAdapter(r: AdapterReport): string {
  const kind = r.isSoftware ? "software" : "hardware";
  return `${r.vendor || "?"} / ${r.architecture || "?"} / ${r.description || r.device || "?"} (${r.backend}, ${kind})`;
}

export function noAdapterError(where: string): KernelError {
  return new KernelError(
    "ADAPTER_MISSING",
    `no WebGPU adapter from ${where}: expected a GPU driver or Mesa's software Vulkan (lavapipe). ` +
      "On Debian/Ubuntu run `npm run setup` (installs libvulkan1 + mesa-vulkan-drivers), " +
      "or set DAWNNODE_BACKEND / pass dawnFlags to pick another backend.",
  );
}
