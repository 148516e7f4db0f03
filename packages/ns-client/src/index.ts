export {
  createNsClient,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TIMEOUT_MS,
  type NsClient,
  type NsClientOptions,
  type NsHooks,
  type NsRequestHookInfo,
  type NsRequestOptions,
  type NsResponseHookInfo,
  type NsRetryHookInfo,
} from './client.js';
export type { NsAuth, NsApiKeyAuth, NsOAuthAuth } from './auth.js';
export {
  NsAbortError,
  NsAuthError,
  NsConflictError,
  NsError,
  NsHttpError,
  NsNetworkError,
  NsNotFoundError,
  NsRateLimitError,
  NsRequestError,
  NsResponseError,
  NsResponseTooLargeError,
  NsServerError,
  NsTimeoutError,
  NsUsageError,
  type NsRequestInfo,
} from './errors.js';
export { nsPath } from './path.js';
export { toE164, toDigits } from './numbers.js';
export type { NsRequester } from './request.js';
export type { HttpMethod, NsRequest, NsResponse } from './transport.js';
export {
  DEFAULT_WEB_APPLICATION,
  type ProvisionResult,
  type ProvisionWebresponderOptions,
  type StepResult,
  type StepStatus,
} from './provision.js';
export { qualifyQueue, type CreateQueuedCallOptions, type CreateQueuedCallV2Options, type QueuedCalls } from './resources/queued-calls.js';
export { newSessionId, type Messages, type SendSmsOptions, type SentSms } from './resources/messages.js';
export type { CreateUserOptions, GetUserOptions, NsUser, UserScope, Users } from './resources/users.js';
export type {
  CreateDialRuleOptions,
  DialRuleApplication,
  DialRuleFields,
  DialRuleLocation,
  DialRules,
  NsDialRule,
  UpdateDialRuleOptions,
} from './resources/dial-rules.js';
export type { AnswerRuleFields, AnswerRuleOptions, AnswerRules, Forwarding } from './resources/answer-rules.js';
export type {
  CreateSubscriptionOptions,
  DeleteSubscriptionOptions,
  ListSubscriptionsOptions,
  NsCallRecord,
  NsSubscription,
  RenewSubscriptionOptions,
  SubscriptionModel,
  Subscriptions,
} from './resources/subscriptions.js';
