import { createCredentials, type NsAuth } from './auth.js';
import { NsUsageError } from './errors.js';
import { parseBaseUrl } from './path.js';
import { provisionWebresponder, type ProvisionResult, type ProvisionWebresponderOptions } from './provision.js';
import { createRequester, type NsRequester } from './request.js';
import { answerRulesResource, type AnswerRules } from './resources/answer-rules.js';
import { dialRulesResource, type DialRules } from './resources/dial-rules.js';
import { messagesResource, type Messages } from './resources/messages.js';
import { queuedCallsResource, type QueuedCalls } from './resources/queued-calls.js';
import { usersResource, type Users } from './resources/users.js';
import { createTransport } from './transport.js';

export interface NsClientOptions {
  /** The portal's origin: `https://ucportal.example.net` (or a local sandbox's `url`). */
  baseUrl: string;
  /** An API key (`{ token }`) or OAuth password-grant credentials. */
  auth: NsAuth;
  /** How long one attempt may take, response included. Default 10 000 ms. */
  timeoutMs?: number;
  /** Retries of idempotent requests after network errors, timeouts and 5xx. Default 2; POSTs are not retried. */
  retries?: number;
  /**
   * The most an answer may hold, in bytes (decompressed, error answers too); a longer one is cut off
   * and thrown as `NsResponseTooLargeError`. Default 1 MiB (`DEFAULT_MAX_RESPONSE_BYTES`).
   */
  maxResponseBytes?: number;
  userAgent?: string;
}

export interface NsClient {
  queuedCalls: QueuedCalls;
  messages: Messages;
  users: Users;
  dialRules: DialRules;
  answerRules: AnswerRules;
  /** Routes calls to a system user to a web responder URL: user, dial rule and answer rule, idempotently. */
  provisionWebresponder(options: ProvisionWebresponderOptions): Promise<ProvisionResult>;
  /** Any other NetSapiens endpoint, authenticated and with the same errors and retry policy. Build `path` with `nsPath`. */
  request: NsRequester;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * NetSapiens' answers to this client are small: `{code, message}`, a token, one user (a few KB). The
 * largest is a dial plan's rule list, about 1 KB a rule, so 1 MiB holds some thousand rules while
 * bounding what a wrong or hostile server can make the process hold per request.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

export function createNsClient(options: NsClientOptions): NsClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new NsUsageError('timeoutMs must be a positive number');
  const retries = options.retries ?? 2;
  if (!Number.isInteger(retries) || retries < 0) throw new NsUsageError('retries must be a whole number ≥ 0');
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes <= 0) throw new NsUsageError('maxResponseBytes must be a whole number of bytes > 0');
  const send = createTransport({
    baseUrl: parseBaseUrl(options.baseUrl),
    timeoutMs,
    retries,
    maxResponseBytes,
    userAgent: options.userAgent ?? 'beckon-ns-client',
  });
  const request = createRequester(send, createCredentials(options.auth, send));
  const resources = {
    queuedCalls: queuedCallsResource(request),
    messages: messagesResource(request),
    users: usersResource(request),
    dialRules: dialRulesResource(request),
    answerRules: answerRulesResource(request),
  };
  return {
    ...resources,
    provisionWebresponder: (provision) => provisionWebresponder(resources, provision),
    request,
  };
}
