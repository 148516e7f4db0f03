import { z } from 'zod';

/** The server's configuration, read once from the environment at start-up. Handlers never read `process.env`. */
export interface ServerConfig {
  /** The NetSapiens portal's origin, e.g. `https://ucportal.example.net`. */
  nsApiBase: string;
  nsToken: string;
  /** How long one NetSapiens request may take. */
  nsTimeoutMs: number;
  /** The shared secret the config forms send (field `secret` or header `X-Update-Secret`). */
  updateSecret: string;
  /**
   * Where the public reaches this server: the widget's endpoint and the webhook URL given to NetSapiens.
   * Undefined when not set: the address the server listens on is used.
   */
  publicUrl: string | undefined;
  domainsFile: string;
  port: number;
  host: string;
  /** How many reverse proxies in front add `X-Forwarded-For`; 0 means the header is never trusted. */
  trustProxy: number;
  /** What one client may hold of the listening server: connections, and time to send a request. */
  http: {
    /** Open connections at most; past it new ones are closed at once, so idle sockets cannot use up descriptors. */
    maxConnections: number;
    /** A client gets this long to send its request headers. */
    headersTimeoutMs: number;
    /** A client gets this long to send its whole request, body included. */
    requestTimeoutMs: number;
  };
  /**
   * The key `/webresponder?id=…&sig=…` URLs are signed with (HMAC-SHA256 of the id). Set from
   * `WEBRESPONDER_SECRET`, or derived from `UPDATE_SECRET` when that is not set.
   */
  webresponderSecret: string | undefined;
  limits: {
    ipPerMinute: number;
    idPerHour: number;
    numberPerHour: number;
    /** Distinct numbers one client address may submit per hour before it is blocked. */
    numbersPerVisitorPerHour: number;
    /** How long a client address that submitted too many distinct numbers is refused. */
    visitorBlockSeconds: number;
    /** Texts one id may send per hour: caps what a flood of fake calls (SMS pumping) can cost. */
    textsPerIdPerHour: number;
    /** `/webresponder` requests per client address per minute (NetSapiens sends from a few addresses). */
    webresponderPerMinute: number;
  };
  /** Cloudflare Turnstile, for ids with `require_turnstile`; undefined when no secret key is set. */
  turnstile: { secretKey: string; verifyUrl: string } | undefined;
  /** A caller is texted at most once per id within this window. */
  textBackWindowSeconds: number;
  /** The e-mail address given to the NetSapiens system users the SMS form provisions. */
  provisionEmail: string | undefined;
  /**
   * The application of the dial rules the SMS form provisions: the portal's "To Web" responder.
   * Undefined: `@beckon/ns-client`'s default, `sip:0@Web-Main`.
   */
  provisionApplication: string | undefined;
  /**
   * Redis for state shared by several instances (limits, text-back dedupe, per-id config); undefined
   * keeps everything in this process and the config in `domainsFile`.
   */
  redis: { url: string; prefix: string } | undefined;
  /**
   * The bearer secret of the admin routes (`/internal/*`, `INTERNAL_API_SECRET`); undefined: those routes
   * do not exist (404).
   */
  internalApiSecret: string | undefined;
  /** How long an app's previous API key keeps working after a rotation (`API_KEY_GRACE_HOURS`). */
  apiKeyGraceHours: number;
  /**
   * Live streams (`GET /api/call-stream`) open at most in this process (`MAX_STREAMS`, default 80 % of
   * `MAX_CONNECTIONS`, always below it) and per app (`MAX_STREAMS_PER_APP`, default 100).
   */
  streams: { max: number; perApp: number };
  /**
   * Twilio (`TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`, `TWILIO_API_BASE`): the account ids with a `twilio`
   * block are served through; undefined when unset. `single` is seed 003's one-number setup
   * (`TWILIO_PHONE_NUMBER`, `USER_PHONE_NUMBER`, `TEXT_BACK_MESSAGE`), served as the id `twilio-default`.
   */
  twilio:
    | { accountSid: string; authToken: string; apiBase: string; single?: { number: string; forwardTo: string; textBack?: string } }
    | undefined;
  /**
   * Dialpad: `DIALPAD_API_KEY` (creates webhooks and subscriptions; without it those admin routes do not
   * exist), `DIALPAD_API_BASE` (default `https://dialpad.com`), `DIALPAD_WEBHOOK_SECRET` (verifies deliveries
   * of a webhook made by hand; its events go to `DIALPAD_DEFAULT_ID`, which it requires) and
   * `DIALPAD_DEFAULT_ID` (also the id of a created webhook whose app reads several ids and names none).
   */
  dialpad: { apiKey: string | undefined; apiBase: string; webhookSecret: string | undefined; defaultId: string | undefined };
  /**
   * RingCentral (`RINGCENTRAL_CLIENT_ID`, `RINGCENTRAL_CLIENT_SECRET`, `RINGCENTRAL_JWT_TOKEN`,
   * `RINGCENTRAL_SERVER_URL`): the app and user whose calls ids subscribe to; undefined when unset.
   * Secrets: never log them.
   */
  ringcentral: { clientId: string; clientSecret: string; jwt: string; serverUrl: string } | undefined;
  /** PostgreSQL (`DATABASE_URL`); undefined: the embedded database (PGlite) in `dataDir`. Holds a password: never log it as it is. */
  databaseUrl: string | undefined;
  /** Beckon's own files: the embedded database (`pglite/`), the demo's `domains.json`. */
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `LOG_FORMAT`: `json` lines, or `pretty` for a person; undefined: pretty when stdout is a terminal, JSON otherwise. */
  logFormat: 'json' | 'pretty' | undefined;
  /**
   * Prometheus metrics: `GET /metrics` on the server behind `Authorization: Bearer <METRICS_TOKEN>`,
   * and/or on `METRICS_PORT` bound to 127.0.0.1 without a token. Neither set: no metrics are served.
   */
  metrics: { token: string | undefined; port: number | undefined };
}

/** Cloudflare's siteverify endpoint; `TURNSTILE_VERIFY_URL` replaces it (a stand-in in tests). */
export const TURNSTILE_VERIFY_URL = 'https://challenges.cloudflare.com/turnstile/v0/siteverify';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

const required = (name: string) =>
  z
    .string({ error: `${name} is required` })
    .trim()
    .min(1, { error: `${name} is required` });

const httpUrl = (name: string) =>
  z
    .string()
    .trim()
    .refine((value) => /^https?:\/\/[^/?#\s]+/i.test(value) && URL.canParse(value), {
      error: `${name} must be an http(s) URL such as https://beckon.example.net`,
    })
    .transform((value) => value.replace(/\/+$/, ''));

const e164 = (name: string) =>
  z
    .string()
    .trim()
    .regex(/^\+[1-9]\d{7,14}$/, { error: `${name} must be a phone number in E.164, such as +19294873999` });

const whole = (name: string, fallback: number, min = 1) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value, context) => {
      if (value === undefined || value === '') return fallback;
      const number = Number(value);
      if (!Number.isInteger(number) || number < min) {
        context.addIssue({ code: 'custom', message: `${name} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return number;
    });

const trustProxy = z
  .string()
  .trim()
  .optional()
  .transform((value, context) => {
    if (value === undefined || value === '' || /^(0|false|no|off)$/i.test(value)) return 0;
    if (/^(true|yes|on)$/i.test(value)) return 1;
    const hops = Number(value);
    if (Number.isInteger(hops) && hops > 0) return hops;
    context.addIssue({
      code: 'custom',
      message: `TRUST_PROXY must be true, false or the number of proxies in front, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  });

/** Credentials belong in NS_TOKEN, never in a URL that ends up in logs; a query or fragment would be dropped. */
function isBareOrigin(url: URL): boolean {
  return !url.username && !url.password && !url.search && !url.hash;
}

const redisUrl = z
  .string()
  .trim()
  .refine((value) => /^rediss?:\/\/\S*$/i.test(value) && URL.canParse(value), {
    error: 'REDIS_URL must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379',
  });
const redisPrefix = z
  .string()
  .trim()
  .regex(/^[\w:.-]{1,64}$/, { error: 'REDIS_PREFIX may hold letters, digits and _:.- (at most 64)' })
  .optional();

const databaseUrl = z
  .string()
  .trim()
  // The value is never repeated: it may hold a password.
  .refine((value) => /^postgres(ql)?:\/\/\S+$/i.test(value) && URL.canParse(value), {
    error:
      'DATABASE_URL must be a postgres:// or postgresql:// URL such as postgres://beckon:PASSWORD@127.0.0.1:5432/beckon ' +
      '(unset: the embedded database in DATA_DIR)',
  });
const dataDir = z.string().trim().optional();

/** Settings of the database, read by `loadConfig` and by `beckon-server migrate`. */
const databaseVariables = {
  DATABASE_URL: databaseUrl.optional(),
  DATA_DIR: dataDir,
  /** The demo's name for DATA_DIR, still read when DATA_DIR is not set (deprecated). */
  BECKON_DATA_DIR: dataDir,
};

const environment = z.object({
  NS_API_BASE: required('NS_API_BASE')
    .pipe(httpUrl('NS_API_BASE'))
    .refine((value) => !URL.canParse(value) || isBareOrigin(new URL(value)), {
      error: 'NS_API_BASE must be the portal origin, without credentials, query or fragment (https://ucportal.example.net)',
    }),
  NS_TOKEN: required('NS_TOKEN'),
  NS_TIMEOUT_MS: whole('NS_TIMEOUT_MS', 10_000, 100),
  UPDATE_SECRET: required('UPDATE_SECRET').refine((value) => value.length >= 16, {
    error: 'UPDATE_SECRET must be at least 16 characters (use a long random value)',
  }),
  PUBLIC_URL: httpUrl('PUBLIC_URL').optional(),
  DOMAINS_FILE: z.string().trim().optional(),
  PORT: whole('PORT', 5100, 0).refine((port) => port <= 65_535, { error: 'PORT must be at most 65535' }),
  HOST: z.string().trim().optional(),
  TRUST_PROXY: trustProxy,
  LIMIT_IP_PER_MINUTE: whole('LIMIT_IP_PER_MINUTE', 3),
  LIMIT_ID_PER_HOUR: whole('LIMIT_ID_PER_HOUR', 30),
  LIMIT_NUMBER_PER_HOUR: whole('LIMIT_NUMBER_PER_HOUR', 3),
  LIMIT_NUMBERS_PER_VISITOR_PER_HOUR: whole('LIMIT_NUMBERS_PER_VISITOR_PER_HOUR', 3),
  LIMIT_VISITOR_BLOCK_HOURS: whole('LIMIT_VISITOR_BLOCK_HOURS', 24),
  LIMIT_TEXTS_PER_ID_PER_HOUR: whole('LIMIT_TEXTS_PER_ID_PER_HOUR', 60),
  LIMIT_WEBRESPONDER_PER_MINUTE: whole('LIMIT_WEBRESPONDER_PER_MINUTE', 600),
  MAX_CONNECTIONS: whole('MAX_CONNECTIONS', 1_000),
  // 0 when unset: 80 % of MAX_CONNECTIONS.
  MAX_STREAMS: whole('MAX_STREAMS', 0),
  MAX_STREAMS_PER_APP: whole('MAX_STREAMS_PER_APP', 100),
  HEADERS_TIMEOUT_MS: whole('HEADERS_TIMEOUT_MS', 10_000, 100),
  REQUEST_TIMEOUT_MS: whole('REQUEST_TIMEOUT_MS', 30_000, 100),
  WEBRESPONDER_SECRET: z
    .string()
    .trim()
    .min(16, { error: 'WEBRESPONDER_SECRET must be at least 16 characters (use a long random value)' })
    .optional(),
  TURNSTILE_SECRET_KEY: z.string().trim().optional(),
  TURNSTILE_VERIFY_URL: httpUrl('TURNSTILE_VERIFY_URL').optional(),
  TEXT_BACK_WINDOW_MINUTES: whole('TEXT_BACK_WINDOW_MINUTES', 10),
  PROVISION_DIAL_RULE_APPLICATION: z
    .string()
    .trim()
    .regex(/^[\x21-\x7e]{1,128}$/, { error: 'PROVISION_DIAL_RULE_APPLICATION must be a responder such as sip:0@Web-Main (no spaces)' })
    .optional(),
  PROVISION_EMAIL: z.email({ error: 'PROVISION_EMAIL must be an e-mail address' }).optional(),
  REDIS_URL: redisUrl.optional(),
  REDIS_PREFIX: redisPrefix,
  INTERNAL_API_SECRET: z
    .string()
    .trim()
    .min(32, { error: 'INTERNAL_API_SECRET must be at least 32 characters (use a long random value, e.g. openssl rand -hex 32)' })
    .optional(),
  API_KEY_GRACE_HOURS: whole('API_KEY_GRACE_HOURS', 24, 0).refine((hours) => hours <= 8_760, {
    error: 'API_KEY_GRACE_HOURS must be at most 8760 (a year)',
  }),
  ...databaseVariables,
  TWILIO_ACCOUNT_SID: z
    .string()
    .trim()
    .regex(/^AC[0-9a-f]{32}$/, { error: 'TWILIO_ACCOUNT_SID must be an account SID: AC and 32 hexadecimal digits' })
    .optional(),
  TWILIO_AUTH_TOKEN: z
    .string()
    .trim()
    .regex(/^[0-9a-f]{32}$/, { error: "TWILIO_AUTH_TOKEN must be the account's auth token: 32 hexadecimal digits" })
    .optional(),
  TWILIO_API_BASE: httpUrl('TWILIO_API_BASE').optional(),
  TWILIO_PHONE_NUMBER: e164('TWILIO_PHONE_NUMBER').optional(),
  USER_PHONE_NUMBER: e164('USER_PHONE_NUMBER').optional(),
  DIALPAD_API_KEY: z
    .string()
    .trim()
    .regex(/^[\x21-\x7e]{8,512}$/, {
      error: 'DIALPAD_API_KEY must be the API key from Dialpad (Admin Settings > Integrations > API Keys), on one line',
    })
    .optional(),
  DIALPAD_API_BASE: httpUrl('DIALPAD_API_BASE')
    .refine((value) => !URL.canParse(value) || isBareOrigin(new URL(value)), {
      error:
        'DIALPAD_API_BASE must be an origin without credentials, query or fragment (https://dialpad.com or https://sandbox.dialpad.com)',
    })
    .optional(),
  DIALPAD_WEBHOOK_SECRET: z
    .string()
    .trim()
    .regex(/^[\x21-\x7e]{32,256}$/, {
      error:
        'DIALPAD_WEBHOOK_SECRET must be 32 to 256 visible characters (the secret set on the Dialpad webhook; e.g. openssl rand -hex 32)',
    })
    .optional(),
  DIALPAD_DEFAULT_ID: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,127}$/, { error: 'DIALPAD_DEFAULT_ID must be a config id such as example.com-sales' })
    .optional(),
  TEXT_BACK_MESSAGE: z.string().max(1_000, { error: 'TEXT_BACK_MESSAGE must be at most 1000 characters' }).optional(),
  RINGCENTRAL_CLIENT_ID: z
    .string()
    .trim()
    .regex(/^[\x21-\x7e]{1,256}$/, { error: "RINGCENTRAL_CLIENT_ID must be the app's Client ID from RingCentral's Developer Console" })
    .optional(),
  RINGCENTRAL_CLIENT_SECRET: z
    .string()
    .trim()
    .regex(/^[\x21-\x7e]{1,256}$/, { error: "RINGCENTRAL_CLIENT_SECRET must be the app's Client Secret (no spaces)" })
    .optional(),
  RINGCENTRAL_JWT_TOKEN: z
    .string()
    .trim()
    .regex(/^[\w-]+\.[\w-]+\.[\w-]*$/, {
      error: 'RINGCENTRAL_JWT_TOKEN must be the JWT credential made in the Developer Console (three dot-separated parts)',
    })
    .optional(),
  RINGCENTRAL_SERVER_URL: httpUrl('RINGCENTRAL_SERVER_URL')
    .refine((value) => !URL.canParse(value) || isBareOrigin(new URL(value)), {
      error: 'RINGCENTRAL_SERVER_URL must be an origin such as https://platform.ringcentral.com, without credentials, query or fragment',
    })
    .optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .optional(),
  LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'LOG_FORMAT must be json or pretty' }).optional(),
  METRICS_TOKEN: z
    .string()
    .trim()
    .min(32, { error: 'METRICS_TOKEN must be at least 32 characters (use a long random value, e.g. openssl rand -hex 32)' })
    .optional(),
  METRICS_PORT: z
    .string()
    .trim()
    .regex(/^\d{1,5}$/, { error: 'METRICS_PORT must be a port number from 1 to 65535 (0: any free port)' })
    .transform(Number)
    .refine((port) => port <= 65_535, { error: 'METRICS_PORT must be a port number from 1 to 65535 (0: any free port)' })
    .optional(),
});

/** Validates the environment once; every problem is listed, each naming its variable. */
export function loadConfig(env: Record<string, string | undefined>): ServerConfig {
  const parsed = environment.safeParse(present(env));
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => issue.message));
  const vars = parsed.data;
  const twilioProblems = [
    Boolean(vars.TWILIO_ACCOUNT_SID) !== Boolean(vars.TWILIO_AUTH_TOKEN) &&
      'TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN go together: set both (from the Twilio console) or neither',
    Boolean(vars.TWILIO_PHONE_NUMBER) !== Boolean(vars.USER_PHONE_NUMBER) &&
      'TWILIO_PHONE_NUMBER and USER_PHONE_NUMBER go together: the Twilio number callers dial, and the phone it rings',
    vars.TWILIO_PHONE_NUMBER && !vars.TWILIO_ACCOUNT_SID && 'TWILIO_PHONE_NUMBER needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN',
  ].filter((problem): problem is string => typeof problem === 'string');
  if (twilioProblems.length > 0) throw new ConfigError(twilioProblems);
  if (vars.DIALPAD_WEBHOOK_SECRET && !vars.DIALPAD_DEFAULT_ID) {
    throw new ConfigError(['DIALPAD_WEBHOOK_SECRET needs DIALPAD_DEFAULT_ID: the config id its events are stored under']);
  }
  const ringcentralSet = [vars.RINGCENTRAL_CLIENT_ID, vars.RINGCENTRAL_CLIENT_SECRET, vars.RINGCENTRAL_JWT_TOKEN].filter(Boolean).length;
  if (ringcentralSet !== 0 && ringcentralSet !== 3) {
    throw new ConfigError([
      'RINGCENTRAL_CLIENT_ID, RINGCENTRAL_CLIENT_SECRET and RINGCENTRAL_JWT_TOKEN go together: set all three (from the Developer Console) or none',
    ]);
  }
  if (vars.MAX_STREAMS >= vars.MAX_CONNECTIONS) {
    throw new ConfigError([
      `MAX_STREAMS must be less than MAX_CONNECTIONS (${vars.MAX_CONNECTIONS}): live streams must leave connections for the webhooks and the other routes`,
    ]);
  }
  const host = vars.HOST || '127.0.0.1';
  return {
    nsApiBase: vars.NS_API_BASE,
    nsToken: vars.NS_TOKEN,
    nsTimeoutMs: vars.NS_TIMEOUT_MS,
    updateSecret: vars.UPDATE_SECRET,
    publicUrl: vars.PUBLIC_URL,
    domainsFile: vars.DOMAINS_FILE || './domains.json',
    port: vars.PORT,
    host,
    trustProxy: vars.TRUST_PROXY,
    limits: {
      ipPerMinute: vars.LIMIT_IP_PER_MINUTE,
      idPerHour: vars.LIMIT_ID_PER_HOUR,
      numberPerHour: vars.LIMIT_NUMBER_PER_HOUR,
      numbersPerVisitorPerHour: vars.LIMIT_NUMBERS_PER_VISITOR_PER_HOUR,
      visitorBlockSeconds: vars.LIMIT_VISITOR_BLOCK_HOURS * 3600,
      textsPerIdPerHour: vars.LIMIT_TEXTS_PER_ID_PER_HOUR,
      webresponderPerMinute: vars.LIMIT_WEBRESPONDER_PER_MINUTE,
    },
    http: {
      maxConnections: vars.MAX_CONNECTIONS,
      headersTimeoutMs: vars.HEADERS_TIMEOUT_MS,
      // Node requires the whole-request timeout to be at least the headers timeout.
      requestTimeoutMs: Math.max(vars.REQUEST_TIMEOUT_MS, vars.HEADERS_TIMEOUT_MS),
    },
    webresponderSecret: vars.WEBRESPONDER_SECRET,
    turnstile: vars.TURNSTILE_SECRET_KEY
      ? { secretKey: vars.TURNSTILE_SECRET_KEY, verifyUrl: vars.TURNSTILE_VERIFY_URL ?? TURNSTILE_VERIFY_URL }
      : undefined,
    textBackWindowSeconds: vars.TEXT_BACK_WINDOW_MINUTES * 60,
    provisionEmail: vars.PROVISION_EMAIL,
    provisionApplication: vars.PROVISION_DIAL_RULE_APPLICATION,
    redis: vars.REDIS_URL ? { url: vars.REDIS_URL, prefix: vars.REDIS_PREFIX ?? 'beckon:' } : undefined,
    internalApiSecret: vars.INTERNAL_API_SECRET,
    apiKeyGraceHours: vars.API_KEY_GRACE_HOURS,
    streams: { max: vars.MAX_STREAMS || Math.floor(vars.MAX_CONNECTIONS * 0.8), perApp: vars.MAX_STREAMS_PER_APP },
    twilio:
      vars.TWILIO_ACCOUNT_SID && vars.TWILIO_AUTH_TOKEN
        ? {
            accountSid: vars.TWILIO_ACCOUNT_SID,
            authToken: vars.TWILIO_AUTH_TOKEN,
            apiBase: vars.TWILIO_API_BASE ?? 'https://api.twilio.com',
            ...(vars.TWILIO_PHONE_NUMBER && vars.USER_PHONE_NUMBER
              ? {
                  single: {
                    number: vars.TWILIO_PHONE_NUMBER,
                    forwardTo: vars.USER_PHONE_NUMBER,
                    ...(vars.TEXT_BACK_MESSAGE ? { textBack: vars.TEXT_BACK_MESSAGE } : {}),
                  },
                }
              : {}),
          }
        : undefined,
    dialpad: {
      apiKey: vars.DIALPAD_API_KEY,
      apiBase: vars.DIALPAD_API_BASE ?? 'https://dialpad.com',
      webhookSecret: vars.DIALPAD_WEBHOOK_SECRET,
      defaultId: vars.DIALPAD_DEFAULT_ID,
    },
    ringcentral:
      vars.RINGCENTRAL_CLIENT_ID && vars.RINGCENTRAL_CLIENT_SECRET && vars.RINGCENTRAL_JWT_TOKEN
        ? {
            clientId: vars.RINGCENTRAL_CLIENT_ID,
            clientSecret: vars.RINGCENTRAL_CLIENT_SECRET,
            jwt: vars.RINGCENTRAL_JWT_TOKEN,
            serverUrl: vars.RINGCENTRAL_SERVER_URL ?? 'https://platform.ringcentral.com',
          }
        : undefined,
    ...databaseSettings(vars),
    logLevel: vars.LOG_LEVEL ?? 'info',
    logFormat: vars.LOG_FORMAT,
    metrics: { token: vars.METRICS_TOKEN, port: vars.METRICS_PORT },
  };
}

/** Just the Redis settings, required: for `import-config` and `export-config`, which need nothing else. */
export function loadRedisConfig(env: Record<string, string | undefined>): { url: string; prefix: string } {
  const parsed = z
    .object({ REDIS_URL: z.string({ error: 'REDIS_URL is required' }).pipe(redisUrl), REDIS_PREFIX: redisPrefix })
    .safeParse(present(env));
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => issue.message));
  return { url: parsed.data.REDIS_URL, prefix: parsed.data.REDIS_PREFIX ?? 'beckon:' };
}

/** Just the database settings: for `beckon-server migrate`, and for the demo to find `DATA_DIR`. */
export function loadDatabaseConfig(env: Record<string, string | undefined>): Pick<ServerConfig, 'databaseUrl' | 'dataDir'> {
  const parsed = z.object(databaseVariables).safeParse(present(env));
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => issue.message));
  return databaseSettings(parsed.data);
}

function databaseSettings(vars: { DATABASE_URL?: string; DATA_DIR?: string; BECKON_DATA_DIR?: string }) {
  return { databaseUrl: vars.DATABASE_URL, dataDir: vars.DATA_DIR || vars.BECKON_DATA_DIR || './data' };
}

/** Settings still read under an old name: one message each, for the log at start-up. */
export function deprecatedSettings(env: Record<string, string | undefined>): string[] {
  const set = present(env);
  return set.BECKON_DATA_DIR && !set.DATA_DIR ? ['BECKON_DATA_DIR is deprecated: set DATA_DIR instead (same meaning)'] : [];
}

/** Empty values count as unset. */
function present(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
}

/** True for a URL only this machine can reach (loopback or unspecified host): useless to NetSapiens. */
export function isLocalOnly(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || host === '::' || host === '0.0.0.0' || /^127\./.test(host);
}
