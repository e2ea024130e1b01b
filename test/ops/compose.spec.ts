import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/config';
import { parse as parseDotenv } from 'dotenv';

const ROOT = join(__dirname, '../..');

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` against `vars`; a missing `:?` one throws. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g,
    (_, name: string, op?: string, arg?: string) => {
      const set = vars[name] !== undefined && vars[name] !== '';
      if (set) {
        return vars[name];
      }
      if (op === '-') {
        return arg ?? '';
      }
      if (op === '?') {
        throw new Error(`${name}: ${arg}`);
      }
      return '';
    },
  );
}

/** The runtime stage's ENV of the Dockerfile: what a service's `environment` is layered over. */
function imageEnvironment(): Record<string, string> {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
  const env: Record<string, string> = {};
  for (const match of runtime.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm)) {
    for (const pair of match[1].replace(/\\\n/g, ' ').trim().split(/\s+/)) {
      const [key, value] = pair.split('=');
      env[key] = value;
    }
  }
  return env;
}

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  environment?: Record<string, string | number | boolean>;
  command?: string[];
  healthcheck?: { test: string[] };
}

const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const examples = parseDotenv(readFileSync(join(ROOT, 'ops/compose.env.example')));
const appServices = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);

function environmentOf(service: Service, vars: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { ...imageEnvironment() };
  for (const [name, value] of Object.entries(service.environment ?? {})) {
    env[name] = interpolate(String(value), vars);
  }
  return env;
}

describe('docker-compose.yml', () => {
  it('runs the service as api and worker, and nginx + apis + workers under the `scale` profile', () => {
    const roles = (profile: string | undefined) =>
      appServices
        .filter(([, service]) => service.profiles?.[0] === profile)
        .map(([, service]) => service.environment?.ROLE)
        .sort();
    expect(roles(undefined)).toEqual(['api', 'worker']);
    expect(roles('scale')).toEqual(['api', 'worker']);
    expect(compose.services.nginx.profiles).toEqual(['scale']);
  });

  it.each(appServices.map(([name]) => name))(
    'service %s: its environment (with ops/compose.env.example) passes the configuration validator',
    (name) => {
      const config = loadConfig(environmentOf(compose.services[name], examples));
      expect(config.env).toBe('production');
      expect(config.role).toBe(compose.services[name].environment?.ROLE);
    },
  );

  it.each(['JWT_SECRET', 'ADMIN_PASSWORD', 'PAYMENT_WEBHOOK_SECRET', 'METRICS_TOKEN'])(
    'refuses to start without %s: Compose stops with its message before any container',
    (secret) => {
      const { [secret]: _, ...without } = examples;
      expect(() => environmentOf(compose.services.api, without)).toThrow(new RegExp(`^${secret}: set `));
    },
  );

  it("a worker's health check asks its metrics port for /health/live", () => {
    for (const [, service] of appServices.filter(([, s]) => s.environment?.ROLE === 'worker')) {
      const port = service.environment?.WORKER_METRICS_PORT;
      expect(service.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/health/live`);
    }
  });

  it("nginx's command turns ops/nginx's upstream into the api-scale replicas and keeps the rest", () => {
    const shared = join(ROOT, 'ops/nginx/async-order-processor.conf');
    const out = join(mkdtempSync(join(tmpdir(), 'aop-nginx-')), 'default.conf');
    const script = compose.services.nginx
      .command!.at(-1)!
      .replace('/etc/aop/async-order-processor.conf', shared)
      .replace('/etc/nginx/conf.d/default.conf', out)
      .replace(/ && exec nginx .*$/, '');
    execFileSync('sh', ['-c', script]);
    const upstream = /upstream aop_api \{([^}]*)\}/.exec(readFileSync(out, 'utf8'))![1];
    expect(upstream.match(/^\s*server .*$/gm)?.map((line) => line.trim())).toEqual([
      'server api-scale:3000 max_fails=2 fail_timeout=5s;',
    ]);
    const withoutServers = (text: string) => text.replace(/^\s*server \S+:\d+ .*\n/gm, '');
    expect(withoutServers(readFileSync(out, 'utf8'))).toBe(withoutServers(readFileSync(shared, 'utf8')));
  });
});
