import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetricsService } from '../../src/platform/metrics/metrics.service';
import { startTestApp, TestApp } from '../support/test-app';

const OPS = join(__dirname, '../../ops');

/**
 * Metrics the ops files use that are defined by modules being built alongside (outbox, queues,
 * breakers, saga recovery, invariant checks, payments). Drop a name here once its module defines it;
 * the test then checks it against the running app like every other name.
 */
const PROVIDED_BY_OTHER_MODULES = new Set(['aop_invariant_violations', 'aop_payments_total']);

/** Metric names in a file: ours (`aop_`) and the runtime ones prom-client exports. */
function metricNamesIn(text: string): Set<string> {
  return new Set(text.match(/\b(?:aop|nodejs|process)_[a-z0-9_]*[a-z0-9]\b/g) ?? []);
}

function exposedNames(registry: MetricsService['registry']): Set<string> {
  const names = new Set<string>();
  for (const metric of registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    names.add(name);
    if (type === 'histogram') {
      ['_bucket', '_sum', '_count'].forEach((suffix) => names.add(name + suffix));
    }
  }
  return names;
}

function withoutSeriesSuffix(name: string): string {
  return name.replace(/_(bucket|sum|count)$/, '');
}

describe('ops files', () => {
  let sut: TestApp;
  let defined: Set<string>;

  beforeAll(async () => {
    sut = await startTestApp();
    defined = exposedNames(sut.get(MetricsService).registry);
  });
  afterAll(() => sut.close());

  it.each(['prometheus/alerts.yml', 'prometheus/alerts.test.yml', 'grafana/dashboard.json'])(
    '%s uses only metrics the service exposes or another module provides',
    (file) => {
      const unknown = [...metricNamesIn(readFileSync(join(OPS, file), 'utf8'))].filter(
        (name) => !defined.has(name) && !PROVIDED_BY_OTHER_MODULES.has(withoutSeriesSuffix(name)),
      );
      expect(unknown).toEqual([]);
    },
  );

  it('alerts.yml gives every alert a severity and a summary', () => {
    const text = readFileSync(join(OPS, 'prometheus/alerts.yml'), 'utf8');
    const alerts = text.split(/^\s+- alert: /m).slice(1);
    expect(alerts.length).toBeGreaterThanOrEqual(9);
    for (const alert of alerts) {
      expect(alert).toMatch(/severity: (critical|warning)/);
      expect(alert).toMatch(/summary: \S/);
    }
  });

  it('the dashboard takes its data source from a variable, so it imports into any Grafana', () => {
    const dashboard = JSON.parse(readFileSync(join(OPS, 'grafana/dashboard.json'), 'utf8'));
    expect(dashboard.templating.list).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'datasource', type: 'datasource' })]),
    );
    const panels = dashboard.panels.filter((panel: { type: string }) => panel.type !== 'row');
    const ids = dashboard.panels.map((panel: { id: number }) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(panel.datasource.uid).toBe('${datasource}');
      expect(panel.targets.length).toBeGreaterThan(0);
    }
  });
});
