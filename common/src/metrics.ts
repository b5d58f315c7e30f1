// Prometheus text-format metrics, kept in memory and served on localhost by ops/http.ts.

type Labels = Readonly<Record<string, string>>;

const key = (name: string, labels: Labels) => {
  const l = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`)
    .join(',');
  return l ? `${name}{${l}}` : name;
};

const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  private readonly counters = new Map<string, { help: string; values: Map<string, number> }>();
  private readonly gauges = new Map<string, { help: string; read: () => number }>();
  private readonly histograms = new Map<string, { help: string; counts: number[]; sum: number; n: number }>();

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    let c = this.counters.get(name);
    if (!c) this.counters.set(name, (c = { help, values: new Map() }));
    const k = key(name, labels);
    c.values.set(k, (c.values.get(k) ?? 0) + by);
  }

  gauge(name: string, help: string, read: () => number): void {
    this.gauges.set(name, { help, read });
  }

  observe(name: string, help: string, seconds: number): void {
    let h = this.histograms.get(name);
    if (!h) this.histograms.set(name, (h = { help, counts: LATENCY_BUCKETS.map(() => 0), sum: 0, n: 0 }));
    LATENCY_BUCKETS.forEach((b, i) => {
      if (seconds <= b) h.counts[i]!++;
    });
    h.sum += seconds;
    h.n++;
  }

  /** Current value of a counter (all label sets summed when labels are omitted). */
  value(name: string, labels?: Labels): number {
    const c = this.counters.get(name);
    if (!c) return 0;
    if (labels) return c.values.get(key(name, labels)) ?? 0;
    let s = 0;
    for (const v of c.values.values()) s += v;
    return s;
  }

  render(): string {
    const out: string[] = [];
    for (const [name, c] of this.counters) {
      out.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      for (const [k, v] of c.values) out.push(`${k} ${v}`);
    }
    for (const [name, g] of this.gauges) {
      out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`, `${name} ${g.read()}`);
    }
    for (const [name, h] of this.histograms) {
      out.push(`# HELP ${name} ${h.help}`, `# TYPE ${name} histogram`);
      LATENCY_BUCKETS.forEach((b, i) => out.push(`${name}_bucket{le="${b}"} ${h.counts[i]}`));
      out.push(`${name}_bucket{le="+Inf"} ${h.n}`, `${name}_sum ${h.sum}`, `${name}_count ${h.n}`);
    }
    return out.join('\n') + '\n';
  }
}
