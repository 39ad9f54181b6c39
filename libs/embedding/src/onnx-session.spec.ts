import { describe, expect, it } from 'vitest';
import { cgroupCpuLimit, defaultIntraOpThreads, physicalCoreCount } from './onnx-session.js';

const files = (m: Record<string, string>) => (p: string) => {
  const v = m[p];
  if (v === undefined) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
  return v;
};

describe('CPU counting for the intra-op thread default', () => {
  it('reads cgroup v2 and v1 CPU quotas', () => {
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '400000 100000\n' }))).toBe(4);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '150000 100000' }))).toBe(2);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': 'max 100000' }))).toBeUndefined();
    expect(
      cgroupCpuLimit(
        files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '50000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }),
      ),
    ).toBe(1);
    expect(
      cgroupCpuLimit(
        files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }),
      ),
    ).toBeUndefined();
    expect(cgroupCpuLimit(files({}))).toBeUndefined();
  });

  it('defaults to the physical cores', () => {
    const cores = physicalCoreCount();
    expect(cores).toBeGreaterThanOrEqual(1);
    expect(defaultIntraOpThreads()).toBe(cores);
  });
});
