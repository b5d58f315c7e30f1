// The files under deploy/ checked against the code they deploy. A renamed metric would silence an alert
// without anyone noticing, a renamed entry point would break an image only at release time, so:
// every metric the example alert rules name is one the services register (and the error codes they
// match exist); the systemd units keep their hardening (and not MemoryDenyWriteExecute=yes, under which
// V8's JIT cannot run); the Dockerfiles build non-root images with a health check, from files that exist
// and that their .dockerignore allow-lists let through. No YAML library is installed, so the rules file
// is read with a small line-based reader that understands the subset it uses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}
const serviceSources = [...sources('signer-daemon/src'), ...sources('coordinator/src'), ...sources('common/src')];
const allSourceText = serviceSources.map(read).join('\n');

/** Every metric the services register: the names in their metrics.inc / gauge / observe calls. */
function registeredMetrics(): Set<string> {
  const names = new Set<string>();
  for (const m of allSourceText.matchAll(/\.(inc|gauge|observe)\(\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/g)) {
    names.add(m[2]!);
    // A histogram is exported as these three series (common/src/metrics.ts).
    if (m[1] === 'observe') for (const s of ['_bucket', '_sum', '_count']) names.add(m[2] + s);
  }
  return names;
}

/** Series that come from Prometheus itself or the blackbox exporter, not from our code. */
const EXTERNAL = new Set(['up', 'probe_success']);

interface Rule {
  alert: string;
  expr: string;
  block: string;
}

/** The rules of a Prometheus rules file: each `- alert:` item with its expr (single line or a >- / | block). */
function rules(yaml: string): Rule[] {
  const lines = yaml.split('\n');
  const out: Rule[] = [];
  for (let i = 0; i < lines.length; i++) {
    const a = /^(\s*)- alert: (\S+)$/.exec(lines[i]!);
    if (!a) continue;
    const itemIndent = a[1]!.length;
    let end = i + 1;
    while (end < lines.length && (lines[end]!.trim() === '' || lines[end]!.search(/\S/) > itemIndent)) end++;
    const block = lines.slice(i, end);
    const e = block.findIndex((l) => /^\s+expr:/.test(l));
    assert.ok(e > 0, `${a[2]}: no expr`);
    const exprIndent = block[e]!.search(/\S/);
    const value = block[e]!.replace(/^\s+expr:\s*/, '');
    let expr = value;
    if (/^[>|]-?$/.test(value)) {
      const body: string[] = [];
      for (let j = e + 1; j < block.length && (block[j]!.trim() === '' || block[j]!.search(/\S/) > exprIndent); j++)
        body.push(block[j]!.trim());
      expr = body.join(' ').trim();
    }
    out.push({ alert: a[2]!, expr, block: block.join('\n') });
  }
  return out;
}

/** The metric names an expression reads: identifiers that are not functions, keywords, labels or strings. */
function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const keywords = new Set(['and', 'or', 'unless', 'offset', 'bool', 'by', 'without']);
  // A word followed by "(" is a function; a word starting after a digit is a duration or number.
  return [...bare.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter((m) => !m[2] && !keywords.has(m[1]!))
    .map((m) => m[1]!);
}

const alertsYml = read('deploy/prometheus/alerts.yml');
const alertRules = rules(alertsYml);

test('every metric the alert rules read is one the services register', () => {
  const registered = registeredMetrics();
  // The reader found what it should, so an empty set cannot make this test pass by accident.
  for (const m of ['signer_keysets_frozen', 'signer_keyset_freezes_total', 'signer_sign_seconds_bucket'])
    assert.ok(registered.has(m), `the source scan lost ${m}`);
  assert.ok(alertRules.length >= 8, `only ${alertRules.length} rules read`);

  const used = new Set<string>();
  for (const r of alertRules)
    for (const m of metricsIn(r.expr)) {
      used.add(m);
      assert.ok(registered.has(m) || EXTERNAL.has(m), `${r.alert} reads ${m}, which no service registers`);
    }
  // The alerts the operator guide promises.
  for (const m of [
    'signer_keysets_frozen',
    'signer_keyset_freezes_total',
    'signer_permit_refusals_total',
    'signer_share_corrupted_total',
    'up',
  ])
    assert.ok(used.has(m), `no rule reads ${m}`);
});

test('the error codes and jobs the alert rules match exist', () => {
  for (const r of alertRules)
    for (const m of r.expr.matchAll(/\bcode=~?"([^"]+)"/g))
      for (const code of m[1]!.split('|'))
        assert.ok(
          allSourceText.includes(`'${code}'`) || allSourceText.includes(`${code}:`),
          `${r.alert}: no code ${code}`,
        );
  const jobs = [...read('deploy/prometheus/prometheus.yml').matchAll(/job_name: (\S+)/g)].map((m) => m[1]);
  for (const m of alertsYml.matchAll(/job="([^"]+)"/g)) assert.ok(jobs.includes(m[1]), `no scrape job ${m[1]}`);
});

test('each alert rule has a severity and a summary, and a unique name', () => {
  assert.doesNotMatch(alertsYml, /\t/);
  assert.match(alertsYml, /^groups:$/m);
  const names = alertRules.map((r) => r.alert);
  assert.equal(new Set(names).size, names.length);
  for (const r of alertRules) {
    assert.match(r.block, /^\s+severity: (critical|warning)$/m, r.alert);
    assert.match(r.block, /^\s+summary: \S/m, r.alert);
  }
});

/** `Key=value` settings of a unit file (comments dropped; repeated keys keep every value). */
function unit(path: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of read(path).split('\n')) {
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (kv) m.set(kv[1]!, [...(m.get(kv[1]!) ?? []), kv[2]!]);
  }
  return m;
}

test('the systemd units run hardened, as a dedicated user, in production mode', () => {
  for (const [name, dataDir, entry] of [
    ['tandem-signer', '/var/lib/tandem-signer', 'signer-daemon/src/main.ts'],
    ['tandem-coordinator', '/var/lib/tandem-coordinator', 'coordinator/src/main.ts'],
  ] as const) {
    const u = unit(`deploy/systemd/${name}.service`);
    const one = (k: string) => u.get(k)?.at(-1);
    assert.equal(one('User'), name);
    for (const [k, v] of Object.entries({
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      CapabilityBoundingSet: '',
      ReadWritePaths: dataDir,
      UMask: '0077',
      RestartPreventExitStatus: '2',
    }))
      assert.equal(one(k), v, `${name}: ${k}`);
    assert.match(one('RestrictAddressFamilies') ?? '', /^AF_INET AF_INET6 AF_UNIX$/);
    // V8's JIT needs memory that is written and then executed.
    assert.notEqual(one('MemoryDenyWriteExecute'), 'yes');
    assert.ok(one('EnvironmentFile'), `${name}: EnvironmentFile`);
    assert.ok(u.get('Environment')?.includes('TANDEM_ENV=production'), `${name}: production`);
    assert.ok(one('ExecStart')?.endsWith(` ${entry}`), `${name}: ExecStart`);
    assert.ok(existsSync(join(ROOT, entry)));
  }
  const signer = unit('deploy/systemd/tandem-signer.service');
  assert.ok(signer.get('LoadCredential')?.some((c) => c.startsWith('kek:')));
  assert.ok(signer.get('Environment')?.includes('TANDEM_SIGNER_KEK_FILE=%d/kek'));
  for (const [script, cli] of [
    ['tandem-signer-admin', 'signer-daemon/src/cli/admin.ts'],
    ['tandem-coordinator-admin', 'coordinator/src/cli/admin.ts'],
  ]) {
    assert.ok(read(`deploy/systemd/${script}`).includes(` ${cli} "$@"`), script);
    assert.ok(existsSync(join(ROOT, cli!)));
    assert.equal(statSync(join(ROOT, 'deploy/systemd', script!)).mode & 0o111, 0o111, `${script} is executable`);
  }
});

/** Whether an allow-list .dockerignore (`*`, then `!path` lines) lets `path` into the build context. */
function allowed(ignore: string, path: string): boolean {
  const allow = ignore
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1));
  return allow.some((a) => path === a || path.startsWith(a + '/'));
}

test('the Dockerfiles: two stages, node:20-slim, non-root, a health check, and sources that exist', () => {
  for (const [name, entry, health] of [
    ['signer', 'signer-daemon/src/main.ts', '/readyz'],
    ['coordinator', 'coordinator/src/main.ts', '/healthz'],
  ] as const) {
    const file = read(`deploy/${name}.Dockerfile`);
    const ignore = read(`deploy/${name}.Dockerfile.dockerignore`);
    assert.match(file, /^ARG NODE_IMAGE=node:20-slim$/m);
    assert.match(file, /^FROM \$\{NODE_IMAGE\} AS build$/m);
    assert.match(file, /^FROM \$\{NODE_IMAGE\} AS runtime$/m);
    assert.match(file, /^RUN npm ci --workspace @tandem\/[a-z-]+ --omit=dev/m);
    assert.match(file, /^USER tandem$/m);
    assert.ok(file.includes(`path: '${health}'`) || file.includes(`'${health}')`), `${name}: health check`);
    assert.match(file, /^HEALTHCHECK /m);
    assert.ok(file.includes(`"${entry}"]`), `${name}: ENTRYPOINT`);
    assert.ok(allSourceText.includes(`'${health}'`), `${name}: ${health} is served`);
    assert.ok(ignore.split('\n').includes('*'), `${name}: the .dockerignore is an allow-list`);
    for (const m of file.matchAll(/^COPY (?!--from)(.+) (\S+)$/gm))
      for (const src of m[1]!.split(/\s+/)) {
        assert.ok(existsSync(join(ROOT, src)), `${name}: COPY ${src} does not exist`);
        assert.ok(allowed(ignore, src), `${name}: ${src} is not in the build context`);
      }
  }
  // The coordinator's image carries no signer code (it never holds share material).
  assert.doesNotMatch(read('deploy/coordinator.Dockerfile'), /^COPY signer-daemon\/src/m);
});
