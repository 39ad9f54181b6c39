// Kubernetes manifests (deploy/): renders every overlay with the real kustomize (kubectl's
// built-in one, or the kustomize binary), validates every object offline against the Kubernetes
// OpenAPI schemas (kubernetes-models), and checks the cross-references a cluster would only
// reveal at run time: selectors, probe ports, ConfigMap/Secret keys, PVCs, scale targets.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@image-search/testing';

// Loose shapes: the schemas themselves are checked by kubernetes-models below.
/* eslint-disable @typescript-eslint/no-explicit-any */
type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: any;
};

const DEPLOY = join(REPO_ROOT, 'deploy');
const OVERLAYS = readdirSync(join(DEPLOY, 'overlays'));

function findRenderer(): ((dir: string) => string) | undefined {
  const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).stdout.trim() !== '';
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
    return r.stdout;
  };
  if (has('kubectl')) return (dir) => run('kubectl', ['kustomize', dir]);
  if (has('kustomize')) return (dir) => run('kustomize', ['build', dir]);
  return undefined;
}

const render = findRenderer();
if (!render)
  console.log('[deploy] SKIPPED: neither kubectl nor kustomize is installed, so the overlays cannot be rendered here');

function parse(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** kubernetes-models module path for an apiVersion: `apps/v1` → kubernetes-models/apps/v1, `v1` → kubernetes-models/v1. */
async function validateObject(obj: K8sObject): Promise<void> {
  if (obj.apiVersion === 'keda.sh/v1alpha1') {
    // A CRD that kubernetes-models does not carry: check the fields KEDA requires.
    expect(obj.kind).toBe('ScaledObject');
    expect(typeof obj.spec?.scaleTargetRef?.name).toBe('string');
    expect(Array.isArray(obj.spec?.triggers) && obj.spec.triggers.length > 0).toBe(true);
    for (const t of obj.spec.triggers) expect(typeof t.type).toBe('string');
    return;
  }
  const mod = (await import(`kubernetes-models/${obj.apiVersion}`)) as Record<
    string,
    new (o: unknown) => { validate(): void }
  >;
  const Model = mod[obj.kind];
  if (!Model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  try {
    new Model(obj).validate();
  } catch (err) {
    throw new Error(`${obj.kind}/${obj.metadata.name} fails the Kubernetes schema: ${(err as Error).message}`);
  }
}

const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet'];
const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const find = (objs: K8sObject[], kind: string, name: string) =>
  objs.find((o) => o.kind === kind && o.metadata.name === name);
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const podsSelectedBy = (objs: K8sObject[], selector: Record<string, string> | undefined) =>
  objs.filter((o) => WORKLOADS.includes(o.kind) && matches(selector, o.spec.template.metadata.labels));
const allContainers = (w: K8sObject): any[] => [
  ...(w.spec.template.spec.initContainers ?? []),
  ...w.spec.template.spec.containers,
];
const envValue = (container: any, name: string) =>
  (container.env ?? []).find((e: any) => e.name === name)?.value as string | undefined;

/** Checks that span objects; returns the problems found (empty when consistent). */
function crossReferenceProblems(objs: K8sObject[]): string[] {
  const problems: string[] = [];
  const configMaps = new Map(byKind(objs, 'ConfigMap').map((c) => [c.metadata.name, c]));
  const secrets = new Map(byKind(objs, 'Secret').map((s) => [s.metadata.name, s]));
  const pvcs = new Set(byKind(objs, 'PersistentVolumeClaim').map((p) => p.metadata.name));

  for (const w of objs.filter((o) => WORKLOADS.includes(o.kind))) {
    const where = `${w.kind}/${w.metadata.name}`;
    const pod = w.spec.template;
    if (!matches(w.spec.selector.matchLabels, pod.metadata.labels))
      problems.push(`${where}: selector does not match its own pod labels`);
    const templates = new Set((w.spec.volumeClaimTemplates ?? []).map((t: any) => t.metadata.name));
    const volumes = new Set((pod.spec.volumes ?? []).map((v: any) => v.name));
    for (const v of pod.spec.volumes ?? []) {
      if (v.configMap && !configMaps.has(v.configMap.name) && !v.configMap.optional)
        problems.push(`${where}: volume ${v.name} names missing ConfigMap ${v.configMap.name}`);
      if (v.secret && !secrets.has(v.secret.secretName))
        problems.push(`${where}: volume ${v.name} names missing Secret ${v.secret.secretName}`);
      if (v.persistentVolumeClaim && !pvcs.has(v.persistentVolumeClaim.claimName))
        problems.push(`${where}: volume ${v.name} names missing PVC ${v.persistentVolumeClaim.claimName}`);
    }
    for (const c of allContainers(w)) {
      const cw = `${where} container ${c.name}`;
      const ports = (c.ports ?? []) as { name?: string; containerPort: number }[];
      const exposes = (p: string | number) => ports.some((x) => x.name === p || x.containerPort === p);
      for (const probeName of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const probe = c[probeName];
        if (!probe) continue;
        const port = probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
        if (port !== undefined && !exposes(port))
          problems.push(`${cw}: ${probeName} hits port ${port}, which the container does not expose`);
      }
      for (const ref of c.envFrom ?? []) {
        if (ref.configMapRef && !configMaps.has(ref.configMapRef.name) && !ref.configMapRef.optional)
          problems.push(`${cw}: envFrom names missing ConfigMap ${ref.configMapRef.name}`);
        if (ref.secretRef && !secrets.has(ref.secretRef.name) && !ref.secretRef.optional)
          problems.push(`${cw}: envFrom names missing Secret ${ref.secretRef.name}`);
      }
      for (const e of c.env ?? []) {
        const cm = e.valueFrom?.configMapKeyRef;
        const sk = e.valueFrom?.secretKeyRef;
        if (cm && !cm.optional && !(cm.key in (configMaps.get(cm.name)?.data ?? {})))
          problems.push(`${cw}: env ${e.name} names ConfigMap key ${cm.name}/${cm.key}, which does not exist`);
        if (sk && !sk.optional && !(sk.key in (secrets.get(sk.name)?.data ?? {})))
          problems.push(`${cw}: env ${e.name} names Secret key ${sk.name}/${sk.key}, which does not exist`);
      }
      for (const m of c.volumeMounts ?? [])
        if (!volumes.has(m.name) && !templates.has(m.name)) problems.push(`${cw}: mounts unknown volume ${m.name}`);
    }
  }
  for (const s of byKind(objs, 'Service')) {
    const pods = podsSelectedBy(objs, s.spec.selector);
    if (pods.length === 0) {
      problems.push(`Service/${s.metadata.name}: selects no pods`);
      continue;
    }
    for (const p of s.spec.ports) {
      const target = p.targetPort ?? p.port;
      for (const w of pods) {
        if (
          !w.spec.template.spec.containers.some((c: any) =>
            (c.ports ?? []).some((x: any) => x.name === target || x.containerPort === target),
          )
        ) {
          problems.push(
            `Service/${s.metadata.name}: port ${p.name} targets ${target}, which ${w.kind}/${w.metadata.name} does not expose`,
          );
        }
      }
    }
  }
  for (const ss of byKind(objs, 'StatefulSet'))
    if (!find(objs, 'Service', ss.spec.serviceName))
      problems.push(`StatefulSet/${ss.metadata.name}: serviceName ${ss.spec.serviceName} is not a Service`);
  for (const pdb of byKind(objs, 'PodDisruptionBudget'))
    if (podsSelectedBy(objs, pdb.spec.selector.matchLabels).length === 0)
      problems.push(`PodDisruptionBudget/${pdb.metadata.name}: selects no pods`);
  for (const np of byKind(objs, 'NetworkPolicy')) {
    const sel = np.spec.podSelector.matchLabels;
    if (sel && podsSelectedBy(objs, sel).length === 0)
      problems.push(`NetworkPolicy/${np.metadata.name}: podSelector selects no pods`);
    for (const rule of np.spec.ingress ?? [])
      for (const from of rule.from ?? [])
        if (from.podSelector?.matchLabels && podsSelectedBy(objs, from.podSelector.matchLabels).length === 0)
          problems.push(`NetworkPolicy/${np.metadata.name}: a from.podSelector selects no pods`);
  }
  for (const hpa of byKind(objs, 'HorizontalPodAutoscaler'))
    if (!find(objs, hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name))
      problems.push(`HorizontalPodAutoscaler/${hpa.metadata.name}: target does not exist`);
  for (const so of byKind(objs, 'ScaledObject'))
    if (!find(objs, 'Deployment', so.spec.scaleTargetRef.name))
      problems.push(`ScaledObject/${so.metadata.name}: target Deployment does not exist`);
  for (const ing of byKind(objs, 'Ingress'))
    for (const rule of ing.spec.rules)
      for (const path of rule.http.paths) {
        const svc = find(objs, 'Service', path.backend.service.name);
        if (!svc)
          problems.push(`Ingress/${ing.metadata.name}: backend Service ${path.backend.service.name} does not exist`);
        else if (
          !svc.spec.ports.some(
            (p: any) => p.name === path.backend.service.port.name || p.port === path.backend.service.port.number,
          )
        )
          problems.push(`Ingress/${ing.metadata.name}: backend port does not exist on Service ${svc.metadata.name}`);
      }
  return problems;
}

describe.skipIf(!render)('deploy/ kustomize overlays (real kustomize, offline schema validation)', () => {
  const rendered = new Map<string, K8sObject[]>();
  beforeAll(() => {
    for (const overlay of OVERLAYS) rendered.set(overlay, parse(render!(join(DEPLOY, 'overlays', overlay))));
  });

  it('has the local and gpu overlays', () => {
    expect(OVERLAYS).toEqual(expect.arrayContaining(['local', 'gpu']));
  });

  it.each(OVERLAYS)('overlay %s: every object passes the Kubernetes schema', async (overlay) => {
    const objs = rendered.get(overlay)!;
    expect(objs.length).toBeGreaterThan(20);
    for (const obj of objs) await validateObject(obj);
  });

  it.each(OVERLAYS)(
    'overlay %s: cross-references resolve (selectors, probe ports, ConfigMap/Secret keys, PVCs, targets)',
    (overlay) => {
      expect(crossReferenceProblems(rendered.get(overlay)!)).toEqual([]);
    },
  );

  it.each(OVERLAYS)('overlay %s: every workload is namespaced, pinned, limited and non-root', (overlay) => {
    for (const obj of rendered.get(overlay)!)
      if (obj.kind !== 'Namespace')
        expect(obj.metadata.namespace, `${obj.kind}/${obj.metadata.name}`).toBe('image-search');
    for (const w of rendered.get(overlay)!.filter((o) => WORKLOADS.includes(o.kind))) {
      expect(w.spec.template.spec.securityContext?.runAsNonRoot, w.metadata.name).toBe(true);
      for (const c of allContainers(w)) {
        expect(c.image, `${w.metadata.name}/${c.name}`).toMatch(/:[\w.-]+$|@sha256:/);
        expect(c.image).not.toMatch(/:latest$/);
        expect(
          c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory,
          `${w.metadata.name}/${c.name} requests/limits`,
        ).toBeTruthy();
      }
    }
  });

  it.each(OVERLAYS)(
    'overlay %s: embedders are separate Deployments with grpc.health.v1 probes, a long startup probe and a drain that fits the grace period',
    (overlay) => {
      const objs = rendered.get(overlay)!;
      for (const name of ['clip-embedder', 'siglip-embedder']) {
        const d = find(objs, 'Deployment', name)!;
        expect(d, name).toBeDefined();
        const c = d.spec.template.spec.containers[0];
        const grpcPort = c.ports.find((p: any) => p.name === 'grpc').containerPort;
        for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'])
          expect(c[probe].grpc?.port, `${name} ${probe}`).toBe(grpcPort);
        expect(
          c.startupProbe.periodSeconds * c.startupProbe.failureThreshold,
          `${name} startup budget (s)`,
        ).toBeGreaterThanOrEqual(300);
        const preStopSleep = Number(c.lifecycle.preStop.exec.command[1]);
        const drainS = Number(envValue(c, 'SHUTDOWN_TIMEOUT_MS')) / 1000;
        expect(d.spec.template.spec.terminationGracePeriodSeconds, `${name} grace period`).toBeGreaterThan(
          preStopSleep + drainS,
        );
        expect(envValue(c, 'EMBEDDER_PORT')).toBe(String(grpcPort));
      }
      const gw = find(objs, 'Deployment', 'gateway')!.spec.template.spec.containers[0];
      expect(
        gw.lifecycle.preStop.exec.command[1] * 1 + Number(envValue(gw, 'SHUTDOWN_TIMEOUT_MS')) / 1000,
      ).toBeLessThan(find(objs, 'Deployment', 'gateway')!.spec.template.spec.terminationGracePeriodSeconds);
      const hpa = find(objs, 'HorizontalPodAutoscaler', 'gateway')!;
      expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    },
  );

  it.each(OVERLAYS)('overlay %s: flags, secrets, Redis noeviction and Qdrant storage are in place', (overlay) => {
    const objs = rendered.get(overlay)!;
    const flags = byKind(objs, 'ConfigMap').find((c) => /^search-flags-[a-z0-9]{10}$/.test(c.metadata.name));
    expect(flags, 'hashed search-flags ConfigMap').toBeDefined();
    expect(Object.keys(flags!.data)).toEqual(expect.arrayContaining(['USE_SIGLIP', 'SIGLIP_ROLLOUT_PERCENTAGE']));
    expect(find(objs, 'ConfigMap', 'search-flags-live')?.data['flags.json']).toBeDefined();
    const gw = find(objs, 'Deployment', 'gateway')!;
    expect(gw.spec.template.spec.containers[0].envFrom.map((r: any) => r.configMapRef?.name)).toContain(
      flags!.metadata.name,
    );
    const secret = byKind(objs, 'Secret').find((s) => s.metadata.name.startsWith('image-search-secrets-'))!;
    expect(Object.keys(secret.data)).toEqual(expect.arrayContaining(['ADMIN_TOKEN', 'QDRANT_API_KEY']));
    const redisConf = byKind(objs, 'ConfigMap').find((c) => c.metadata.name.startsWith('redis-config'))!.data[
      'redis.conf'
    ] as string;
    expect(redisConf).toMatch(/^maxmemory-policy noeviction$/m);
    const qdrant = find(objs, 'StatefulSet', 'qdrant')!;
    expect(qdrant.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBeTruthy();
  });

  it.each(OVERLAYS)(
    'overlay %s: only the gateway is open to the outside; only gateway and worker reach the embedders',
    (overlay) => {
      const policies = byKind(rendered.get(overlay)!, 'NetworkPolicy');
      expect(policies.find((p) => p.metadata.name === 'default-deny-ingress')?.spec.podSelector).toEqual({});
      const open = policies.filter((p) => (p.spec.ingress ?? []).some((r: any) => !r.from));
      expect(open.map((p) => p.spec.podSelector.matchLabels)).toEqual([{ 'app.kubernetes.io/name': 'gateway' }]);
      const emb = policies.filter(
        (p) => p.spec.podSelector.matchLabels?.['app.kubernetes.io/component'] === 'embedder',
      );
      expect(emb).toHaveLength(1);
      const peers = emb[0]!.spec.ingress.flatMap((r: any) =>
        r.from.map((f: any) => f.podSelector?.matchLabels['app.kubernetes.io/name']),
      );
      expect(peers.sort()).toEqual(['gateway', 'ingest-worker', 'reembed-worker']);
    },
  );

  it.each(OVERLAYS)(
    'overlay %s: ingest runs in the ingest-worker role (one replica, watch mode), not in the gateway replicas; both share the thumbnails',
    (overlay) => {
      const objs = rendered.get(overlay)!;
      const gw = find(objs, 'Deployment', 'gateway')!;
      const iw = find(objs, 'Deployment', 'ingest-worker')!;
      const gwc = gw.spec.template.spec.containers[0];
      const iwc = iw.spec.template.spec.containers[0];
      expect(envValue(gwc, 'INGEST_WORKER')).toBe('false');
      expect(envValue(iwc, 'INGEST_WORKER')).toBe('true');
      expect(envValue(iwc, 'INGEST_WATCH')).toBe('true');
      expect(iw.spec.replicas).toBe(1);
      expect(iw.spec.strategy.type).toBe('Recreate');
      expect(iwc.image.replace(/:[^:]+$/, '')).toBe(gwc.image.replace(/:[^:]+$/, ''));
      // No Service sends API traffic to it.
      for (const svc of byKind(objs, 'Service'))
        expect(svc.spec.selector?.['app.kubernetes.io/name'], svc.metadata.name).not.toBe('ingest-worker');
      for (const [d, c] of [
        [gw, gwc],
        [iw, iwc],
      ]) {
        const dir = envValue(c, 'THUMBNAIL_DIR');
        const mount = c.volumeMounts.find((m: any) => m.mountPath === dir);
        expect(mount, `${d.metadata.name} mounts THUMBNAIL_DIR`).toBeDefined();
        const vol = d.spec.template.spec.volumes.find((v: any) => v.name === mount.name);
        expect(vol.persistentVolumeClaim?.claimName, d.metadata.name).toBe('thumbnails');
      }
    },
  );

  it('local: CPU embedders, one replica each, no GPU requested', () => {
    const objs = rendered.get('local')!;
    for (const name of ['gateway', 'clip-embedder', 'siglip-embedder', 'reembed-worker'])
      expect(find(objs, 'Deployment', name)!.spec.replicas, name).toBe(1);
    expect(JSON.stringify(objs)).not.toContain('nvidia.com/gpu');
    expect(byKind(objs, 'ConfigMap').find((c) => c.metadata.name.startsWith('embedder-config'))!.data.DEVICE).toBe(
      'cpu',
    );
  });

  it('gpu: embedders request one GPU on GPU nodes, fp16 and larger batches', () => {
    const objs = rendered.get('gpu')!;
    const cfg = byKind(objs, 'ConfigMap').find((c) => c.metadata.name.startsWith('embedder-config'))!.data;
    expect(cfg.DEVICE).toBe('cuda');
    expect(cfg.MODEL_VARIANT).toBe('fp16');
    const local = byKind(rendered.get('local')!, 'ConfigMap').find((c) =>
      c.metadata.name.startsWith('embedder-config'),
    )!.data;
    expect(Number(cfg.GPU_BATCH_SIZE)).toBeGreaterThan(Number(local.GPU_BATCH_SIZE));
    for (const name of ['clip-embedder', 'siglip-embedder']) {
      const spec = find(objs, 'Deployment', name)!.spec.template.spec;
      expect(spec.containers[0].resources.limits['nvidia.com/gpu'], name).toBe('1');
      expect(spec.nodeSelector).toBeTruthy();
      expect(spec.tolerations.some((t: any) => t.key === 'nvidia.com/gpu')).toBe(true);
      expect(spec.containers[0].image).toMatch(/-cuda$/);
    }
    for (const name of ['gateway', 'reembed-worker'])
      expect(JSON.stringify(find(objs, 'Deployment', name))).not.toContain('nvidia.com/gpu');
  });

  it('gpu-keda: the worker scales on the BullMQ wait list of the reembed queue', () => {
    const so = find(rendered.get('gpu-keda')!, 'ScaledObject', 'reembed-worker')!;
    expect(so.spec.triggers[0]).toMatchObject({ type: 'redis', metadata: { listName: 'isearch:reembed:wait' } });
  });

  describe('a flags change through kustomize rolls the gateway', () => {
    let copy: string;
    beforeAll(() => {
      copy = mkdtempSync(join(tmpdir(), 'deploy-'));
      cpSync(DEPLOY, copy, { recursive: true });
    });
    afterAll(() => rmSync(copy, { recursive: true, force: true }));

    it('changes the gateway pod template (config hash in the ConfigMap name) and nothing else that serves', () => {
      const before = parse(render!(join(copy, 'overlays/local')));
      const kust = join(copy, 'base/kustomization.yaml');
      writeFileSync(
        kust,
        readFileSync(kust, 'utf8').replace('SIGLIP_ROLLOUT_PERCENTAGE=0', 'SIGLIP_ROLLOUT_PERCENTAGE=10'),
      );
      const after = parse(render!(join(copy, 'overlays/local')));
      const tpl = (objs: K8sObject[], name: string) => JSON.stringify(find(objs, 'Deployment', name)!.spec.template);
      expect(tpl(after, 'gateway')).not.toBe(tpl(before, 'gateway'));
      for (const name of ['clip-embedder', 'siglip-embedder', 'reembed-worker'])
        expect(tpl(after, name), name).toBe(tpl(before, name));
    });
  });

  it('the checker itself catches broken references', () => {
    const objs = structuredClone(rendered.get('local')!);
    const gw = find(objs, 'Deployment', 'gateway')!;
    gw.spec.template.spec.containers[0].readinessProbe.httpGet.port = 'nope';
    gw.spec.template.spec.containers[0].env.push({
      name: 'X',
      valueFrom: { configMapKeyRef: { name: 'missing', key: 'K' } },
    });
    find(objs, 'Service', 'clip-embedder')!.spec.selector = { 'app.kubernetes.io/name': 'nothing' };
    const problems = crossReferenceProblems(objs).join('\n');
    expect(problems).toMatch(/readinessProbe hits port nope/);
    expect(problems).toMatch(/env X names ConfigMap key missing\/K/);
    expect(problems).toMatch(/Service\/clip-embedder: selects no pods/);
  });
});
