import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * What an operator watches, in Prometheus' format (`GET /metrics`): requests by route and status with
 * their durations, NetSapiens requests by outcome, texts by outcome, limit refusals by limit, webhooks
 * received and refused by provider, live streams, and Node's own figures (event loop lag, heap, GC).
 * One registry per server (not prom-client's global one), so several apps in one process, or a host's
 * own metrics, never collide.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #requests = new Histogram({
    name: 'beckon_http_request_duration_seconds',
    help: 'HTTP requests answered, by route (the path pattern; "unmatched" for none), method and status, with their durations',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly #webhooks = new Counter({
    name: 'beckon_webhooks_total',
    help: 'Provider webhook deliveries, by provider and outcome (accepted: 2xx; refused: 4xx; failed: 5xx, redelivered later)',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly #limits = new Counter({
    name: 'beckon_limit_refusals_total',
    help: 'Requests refused by a rate limit, by limit (ip, id, number, visitor-numbers, webresponder)',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly #provider = new Counter({
    name: 'beckon_provider_requests_total',
    help: "Requests to a phone system's API, by provider and outcome (the status class, or the error: timeout, network…), retries included",
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly #texts = new Counter({
    name: 'beckon_texts_total',
    help: 'Texts to callers, by provider and outcome (sent; failed; not sent: opted-out, limited, recent, dropped)',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly #streams = new Gauge({
    name: 'beckon_streams_connected',
    help: 'Live call-event streams (GET /api/call-stream) open on this process',
    registers: [this.registry],
  });

  constructor(sources: { backgroundDropped?: () => number } = {}) {
    collectDefaultMetrics({ register: this.registry });
    const { backgroundDropped } = sources;
    new Gauge({
      name: 'beckon_background_tasks_dropped',
      help: 'Background tasks (texts, lookups) dropped since start because too many were running',
      registers: [this.registry],
      collect() {
        this.set(backgroundDropped?.() ?? 0);
      },
    });
  }

  /** One answered request; a provider webhook's path also counts as a delivery. */
  request(route: string, method: string, status: number, seconds: number): void {
    this.#requests.observe({ route, method, status: String(status) }, seconds);
    const provider = WEBHOOK.exec(route)?.[1];
    if (provider) this.#webhooks.inc({ provider, outcome: status < 400 ? 'accepted' : status < 500 ? 'refused' : 'failed' });
  }

  /** A live stream opened (+1) or ended (-1). */
  streamsChanged(by: 1 | -1): void {
    this.#streams.inc(by);
  }

  limitRefused(limit: string): void {
    this.#limits.inc({ limit });
  }

  providerRequest(provider: string, outcome: string): void {
    this.#provider.inc({ provider, outcome });
  }

  text(provider: string, outcome: string): void {
    this.#texts.inc({ provider, outcome });
  }

  /** The exposition text, and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/** `/webhooks/<provider>` and any path below it. */
const WEBHOOK = /^\/webhooks\/([a-z0-9-]+)/;
