import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { AppError } from '@image-search/service-kit';
import type { DeviceRequest } from './model.types.js';

/** How to get the CUDA provider, for error messages and logs. */
export const CUDA_INSTALL_HINT =
  'install the CUDA build of onnxruntime: `ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js` (needs CUDA 12 and cuDNN 9 libraries on the library path), or set DEVICE=cpu';

/** A parsed DEVICE value. */
export interface DeviceChoice {
  kind: 'cpu' | 'cuda' | 'auto';
  deviceId: number;
}

/** Parses `cpu | cuda | cuda:N | auto`. */
export function parseDevice(device: DeviceRequest | string | undefined): DeviceChoice {
  const d = (device ?? 'cpu').trim().toLowerCase();
  if (d === 'cpu' || d === 'auto') return { kind: d, deviceId: 0 };
  const m = /^cuda(?::(\d+))?$/.exec(d);
  if (m) return { kind: 'cuda', deviceId: m[1] === undefined ? 0 : Number(m[1]) };
  throw new AppError('INVALID_CONFIG', `DEVICE must be cpu, cuda, cuda:N or auto (got ${JSON.stringify(device)})`);
}

/** CPUs granted by a cgroup CPU quota (Kubernetes `limits.cpu`), rounded up; undefined when unlimited or unknown. */
export function cgroupCpuLimit(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): number | undefined {
  const quota = (q: number, period: number) => (q > 0 && period > 0 ? Math.max(1, Math.ceil(q / period)) : undefined);
  try {
    const [q, period] = read('/sys/fs/cgroup/cpu.max').trim().split(/\s+/);
    return q === 'max' ? undefined : quota(Number(q), Number(period));
  } catch {
    // cgroup v1
  }
  try {
    return quota(
      Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us').trim()),
      Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us').trim()),
    );
  } catch {
    return undefined;
  }
}

/**
 * Physical CPU cores this process may use (Linux: distinct core ids in /proc/cpuinfo, capped by the
 * scheduler's CPU count and a cgroup CPU quota). Hyper-threads share execution units, so onnxruntime
 * gains little from them; a pod limited to 4 CPUs on a 64-core node must not start 64 threads.
 */
export function physicalCoreCount(): number {
  const logical = Math.min(availableParallelism(), cgroupCpuLimit() ?? Infinity);
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const cores = new Set<string>();
    let phys = '0';
    for (const line of info.split('\n')) {
      const [k, v] = line.split(':').map((s) => s.trim());
      if (k === 'physical id') phys = v ?? '0';
      else if (k === 'core id') cores.add(`${phys}/${v ?? ''}`);
    }
    return Math.max(1, Math.min(logical, cores.size || logical));
  } catch {
    return logical;
  }
}

/**
 * Default intra-op threads: the physical cores. An earlier rule of one thread on two-core machines
 * came from a run on an oversubscribed host (load 9 on 2 vCPUs); on an idle 2-vCPU machine two
 * threads ran 1.9x faster (docs/benchmarks/embedding.md §3). Where the vCPUs are hyper-thread
 * siblings or shared with other busy work, set INTRA_OP_THREADS=1 after measuring.
 */
export function defaultIntraOpThreads(): number {
  return physicalCoreCount();
}

/** Options for one ONNX session. */
export interface SessionRequest {
  path: string;
  device: DeviceChoice;
  intraOpThreads: number;
}

function sessionOptions(req: SessionRequest, cuda: boolean): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: cuda ? [{ name: 'cuda', deviceId: req.device.deviceId }] : ['cpu'],
    intraOpNumThreads: req.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // On CPU the arena keeps the largest batch's activations for the life of the session (+100 MiB
    // for CLIP fp32 at batch 32, +180 MiB for SigLIP); without it they go back to malloc after each
    // run, and with MALLOC_MMAP_THRESHOLD_ set (the embedders' Dockerfiles, npm start) back to the
    // OS. Memory patterns only apply with the arena. docs/benchmarks/memory.md has the figures.
    enableCpuMemArena: cuda,
    enableMemPattern: cuda,
  };
}

/** Why a CUDA session failed, when it looks like the provider library is missing. */
function isProviderLoadError(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /cuda|providers_shared|shared librar|cudnn|cublas/i.test(msg);
}

/** Creates a session on the requested device; `auto` falls back to CPU and reports it through `onFallback`. */
export async function createSession(
  req: SessionRequest,
  onFallback: (reason: string) => void,
): Promise<{ session: ort.InferenceSession; provider: 'cpu' | 'cuda' }> {
  const wantCuda = req.device.kind === 'cuda' || req.device.kind === 'auto';
  if (wantCuda) {
    try {
      return { session: await ort.InferenceSession.create(req.path, sessionOptions(req, true)), provider: 'cuda' };
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (req.device.kind === 'cuda') {
        const hint = isProviderLoadError(err)
          ? CUDA_INSTALL_HINT
          : 'check that the GPU is visible (nvidia-smi) and that the model loads on CPU';
        throw new AppError(
          'FAILED_PRECONDITION',
          `DEVICE=cuda:${req.device.deviceId}: onnxruntime's CUDA execution provider could not start (${msg.split('\n')[0]}); ${hint}`,
          {
            details: { device: `cuda:${req.device.deviceId}`, model: req.path },
            cause: err,
          },
        );
      }
      onFallback(`${msg.split('\n')[0]}; ${CUDA_INSTALL_HINT}`);
    }
  }
  try {
    return { session: await ort.InferenceSession.create(req.path, sessionOptions(req, false)), provider: 'cpu' };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new AppError('INVALID_CONFIG', `cannot load ONNX model ${req.path}: ${msg.split('\n')[0]}`, { cause: err });
  }
}

/** A tensor input as declared by the graph. */
export interface DeclaredInput {
  name: string;
  type: string;
  shape: readonly (number | string)[];
}

/** The inputs a session declares (name, element type, shape with symbolic dims as strings). */
export function declaredInputs(session: ort.InferenceSession): DeclaredInput[] {
  return session.inputMetadata.map((m) =>
    m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

/**
 * Picks the embedding output: the first of `preferred` the graph has, else its only 2-D output.
 * Returns the name and the declared width when it is a number.
 */
export function pickOutput(
  session: ort.InferenceSession,
  preferred: string[],
  path: string,
): { name: string; dim: number | undefined } {
  const outs = session.outputMetadata;
  const found =
    preferred.map((p) => outs.find((o) => o.name === p)).find((o) => o !== undefined) ??
    (outs.length === 1
      ? outs[0]
      : outs.filter((o) => o.isTensor && o.shape.length === 2).length === 1
        ? outs.find((o) => o.isTensor && o.shape.length === 2)
        : undefined);
  if (!found) {
    throw new AppError(
      'INVALID_CONFIG',
      `${path}: no embedding output found (looked for ${preferred.join(', ')}; the graph has ${outs.map((o) => o.name).join(', ')})`,
    );
  }
  const last = found.isTensor ? found.shape[found.shape.length - 1] : undefined;
  return { name: found.name, dim: typeof last === 'number' && last > 0 ? last : undefined };
}

export { ort };
