import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/config';
import { VARIABLES } from '../../src/config/variables';
import { startTestApp, TestApp } from '../support/test-app';
import { databaseUrlFor, dropDatabase, uniqueName } from '../support/test-database';

const ROOT = join(__dirname, '../..');
const K8S = join(ROOT, 'ops/k8s');

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects, read as parsed YAML */
type K8sObject = any;

const kustomization = parseAllDocuments(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8'))[0].toJS();
const objects: K8sObject[] = [...kustomization.resources, 'secret.example.yaml'].flatMap((file: string) =>
  parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((doc) => doc.toJS()),
);
const ofKind = (kind: string) => objects.filter((object) => object.kind === kind);
const named = (kind: string, name: string) => ofKind(kind).find((object) => object.metadata.name === name);
const deployment = (component: string): K8sObject =>
  ofKind('Deployment').find(
    (d) => d.spec.template.metadata.labels['app.kubernetes.io/component'] === component,
  );
const container = (component: string) => deployment(component).spec.template.spec.containers[0];

/** The environment a container sees: its envFrom ConfigMap and Secret, then its own env. */
function environmentOf(spec: K8sObject): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of spec.envFrom ?? []) {
    if (source.configMapRef) {
      Object.assign(env, named('ConfigMap', source.configMapRef.name).data);
    }
    if (source.secretRef) {
      Object.assign(env, named('Secret', source.secretRef.name).stringData);
    }
  }
  for (const { name, value } of spec.env ?? []) {
    env[name] = value;
  }
  return env;
}

function portNumber(spec: K8sObject, port: string | number): number {
  return typeof port === 'number' ? port : spec.ports.find((p: K8sObject) => p.name === port).containerPort;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('ops/k8s', () => {
  it('names only variables that src/config/variables.ts declares', () => {
    const names = new Set<string>();
    for (const object of objects) {
      Object.keys(object.data && object.kind === 'ConfigMap' ? object.data : {}).forEach((n) => names.add(n));
      Object.keys(object.kind === 'Secret' ? object.stringData : {}).forEach((n) => names.add(n));
      const containers = object.spec?.template?.spec?.containers ?? [];
      containers.flatMap((c: K8sObject) => c.env ?? []).forEach((e: K8sObject) => names.add(e.name));
    }
    expect(names.size).toBeGreaterThan(8);
    expect([...names].filter((name) => !(name in VARIABLES))).toEqual([]);
  });

  it.each(['api', 'worker'])(
    'the %s environment passes the configuration validator in production',
    (role) => {
      const config = loadConfig(environmentOf(container(role)));
      expect(config.env).toBe('production');
      expect(config.role).toBe(role);
    },
  );

  it.each(['api', 'worker'])('%s: the grace period outlasts preStop plus SHUTDOWN_TIMEOUT_MS', (role) => {
    const pod = deployment(role).spec.template.spec;
    const [command, seconds] = container(role).lifecycle.preStop.exec.command;
    expect(command).toBe('sleep');
    const shutdownMs = loadConfig(environmentOf(container(role))).shutdown.timeoutMs;
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(seconds) * 1000 + shutdownMs);
  });

  it('HPAs scale Deployments on CPU; PDBs and the Service select pods that exist', () => {
    const deployments = ofKind('Deployment');
    for (const hpa of ofKind('HorizontalPodAutoscaler')) {
      expect(named('Deployment', hpa.spec.scaleTargetRef.name)).toBeDefined();
      expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    }
    expect(ofKind('HorizontalPodAutoscaler')).toHaveLength(2);
    const selects = (selector: Record<string, string>) =>
      deployments.filter((d) =>
        Object.entries(selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
      );
    for (const pdb of ofKind('PodDisruptionBudget')) {
      expect(selects(pdb.spec.selector.matchLabels)).toHaveLength(1);
    }
    const [service] = ofKind('Service');
    const [target] = selects(service.spec.selector);
    expect(portNumber(target.spec.template.spec.containers[0], service.spec.ports[0].targetPort)).toBe(3000);
    for (const d of deployments) {
      expect(selects(d.spec.selector.matchLabels)).toEqual([d]);
    }
  });

  it('JWT_SECRET and PAYMENT_WEBHOOK_SECRET come from a Secret, not the ConfigMap', () => {
    const secret = named('Secret', 'async-order-processor').stringData;
    const config = ofKind('ConfigMap')[0].data;
    for (const name of ['JWT_SECRET', 'PAYMENT_WEBHOOK_SECRET']) {
      expect(secret[name]).toBeDefined();
      expect(config[name]).toBeUndefined();
    }
  });

  describe('against the running service', () => {
    let api: TestApp;
    let worker: TestApp;
    let workerPort: number;

    beforeAll(async () => {
      workerPort = await freePort();
      api = await startTestApp();
      worker = await startTestApp({ ROLE: 'worker', WORKER_METRICS_PORT: String(workerPort) });
    });
    afterAll(async () => {
      await worker?.close();
      await api?.close();
    });

    it("every api probe's path answers 200 on the port the manifests give PORT", async () => {
      const spec = container('api');
      const probes = [spec.startupProbe, spec.livenessProbe, spec.readinessProbe].map((p) => p.httpGet);
      expect(probes.map((p) => p.path)).toEqual([
        '/api/v1/health/live',
        '/api/v1/health/live',
        '/api/v1/health/ready',
      ]);
      for (const probe of probes) {
        expect(portNumber(spec, probe.port)).toBe(Number(environmentOf(spec).PORT));
        const response = await fetch(new URL(probe.path, api.url));
        expect(`${probe.path} ${response.status}`).toBe(`${probe.path} 200`);
      }
    });

    it("every worker probe's path answers 200 on the port the manifests give WORKER_METRICS_PORT", async () => {
      const spec = container('worker');
      expect(worker.app.http).toBeUndefined();
      const probes = [spec.startupProbe, spec.livenessProbe].map((p) => p.httpGet);
      for (const probe of probes) {
        expect(portNumber(spec, probe.port)).toBe(Number(environmentOf(spec).WORKER_METRICS_PORT));
        const response = await fetch(`http://127.0.0.1:${workerPort}${probe.path}`);
        expect(`${probe.path} ${response.status}`).toBe(`${probe.path} 200`);
      }
      const annotations = deployment('worker').spec.template.metadata.annotations;
      expect(Number(annotations['prometheus.io/port'])).toBe(portNumber(spec, 'metrics'));
    });

    it("the migration Job's command migrates a fresh database and exits 0", async () => {
      const [job] = ofKind('Job');
      const [node, script] = job.spec.template.spec.containers[0].command;
      expect(node).toBe('node');
      // The image runs dist/<x>.js, built from src/<x>.ts.
      const source = join(ROOT, script.replace(/^dist\/(.*)\.js$/, 'src/$1.ts'));
      const url = databaseUrlFor(uniqueName('aop_migrate_job'));
      try {
        const { stdout } = await promisify(execFile)(process.execPath, ['-r', '@swc-node/register', source], {
          cwd: ROOT,
          env: { ...process.env, DATABASE_URL: url, SEED_DEMO: 'false' },
        });
        expect(stdout).toMatch(/^database created; applied: \S/);
      } finally {
        await dropDatabase(url);
      }
    }, 60_000);
  });
});
