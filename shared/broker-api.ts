import { z } from 'zod';
import { ACCOUNT_ID_PATTERN } from './account-id.ts';
import { accountViewSchema } from './account-view.ts';
import { addAccountSchema } from './api.ts';
import { ERROR_CODES } from './errors.ts';
import { ACCOUNT_STATUSES } from './status.ts';
import { BROKER_CALLS, type BrokerCall } from './ipc-channels.ts';

/**
 * BrokerApi: every call the window makes, as one contract. Both transports — HTTP + SSE in
 * web mode (`POST /ui/api/<call>`, `GET /ui/api/events`) and the Electron preload bridge —
 * take their call list, inputs and outputs from this object, so they cannot drift. Inputs
 * and outputs are parsed on both sides.
 */
const accountId = z.string().regex(ACCOUNT_ID_PATTERN);
const clientId = z.string().regex(/^c_[a-z0-9]{12}$/);
const none = z.strictObject({});
const byId = z.strictObject({ id: accountId });

export const clientViewSchema = z.strictObject({
  id: clientId,
  name: z.string(),
  status: z.enum(['pending', 'approved', 'denied', 'revoked']),
  accounts: z.array(z.string()).nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});
export type ClientInfo = z.infer<typeof clientViewSchema>;

export const activityEntrySchema = z.strictObject({
  at: z.string(),
  account: z.string(),
  /** A client id, `owner` (the CLI) or `window` (Copy token). */
  client: z.string(),
  route: z.string(),
});
export type ActivityEntry = z.infer<typeof activityEntrySchema>;

export const settingsSchema = z.strictObject({
  /** Native notifications when an account needs the person or a tool asks for a key. */
  notifications: z.boolean(),
  /** Start Tokentray when the person logs in (the desktop shell acts on it). */
  startAtLogin: z.boolean(),
});
export type Settings = z.infer<typeof settingsSchema>;

const jsonObject = z.record(z.string(), z.unknown());
const decodedJwtSchema = z.strictObject({ header: jsonObject, claims: jsonObject });
export const claimsSchema = z.strictObject({
  /** The access token's header and claims, or null when it is not a JWT (an opaque token). */
  accessToken: decodedJwtSchema.nullable(),
  idToken: decodedJwtSchema.nullable(),
});
export type Claims = z.infer<typeof claimsSchema>;

/** A data file that could not be read at start: moved aside (never deleted), with what it means. */
export const recoveredFileSchema = z.strictObject({ file: z.string(), movedTo: z.string(), message: z.string() });
export type RecoveredFile = z.infer<typeof recoveredFileSchema>;

export const overviewSchema = z.strictObject({
  version: z.string(),
  /** Files found damaged at start (REQUIREMENTS 19): the window says so until the broker restarts. */
  recovered: z.array(recoveredFileSchema),
  locked: z.boolean(),
  settings: settingsSchema,
  /** False when the keychain is unavailable and tokens are in memory only. */
  keychain: z.boolean(),
});
export type Overview = z.infer<typeof overviewSchema>;

const failureSchema = z.strictObject({ code: z.enum(ERROR_CODES), message: z.string() });

export const brokerApiContract = {
  overview: { input: none, output: overviewSchema },
  listAccounts: { input: none, output: z.array(accountViewSchema) },
  getAccount: { input: byId, output: accountViewSchema },
  /** Creates the account and starts its first sign-in; progress arrives as `sign_in` events. A failed first sign-in leaves no account behind. */
  addAccount: { input: addAccountSchema, output: accountViewSchema },
  /** Starts a sign-in (again); progress arrives as `sign_in` events. */
  signIn: { input: byId, output: z.strictObject({ started: z.literal(true) }) },
  cancelSignIn: { input: byId, output: z.strictObject({ cancelled: z.boolean() }) },
  refresh: { input: byId, output: accountViewSchema },
  /** The only call that hands the window an access token: for the person's explicit "Copy token". */
  copyToken: { input: byId, output: z.strictObject({ accessToken: z.string(), expiresAt: z.string().nullable() }) },
  /** Header and claims of the account's JWTs, decoded in the broker: the tokens themselves never reach the window. */
  claims: { input: byId, output: claimsSchema },
  removeAccount: { input: z.strictObject({ id: accountId, keepRemote: z.boolean().default(false) }), output: z.strictObject({ removed: z.literal(true), revoked: z.boolean(), note: z.string().nullable() }) },
  listClients: { input: none, output: z.array(clientViewSchema) },
  approveClient: { input: z.strictObject({ id: clientId, accounts: z.array(accountId).max(100).optional() }), output: clientViewSchema },
  denyClient: { input: z.strictObject({ id: clientId }), output: clientViewSchema },
  revokeClient: { input: z.strictObject({ id: clientId }), output: clientViewSchema },
  activity: { input: z.strictObject({ account: accountId.optional(), client: z.string().max(64).optional(), limit: z.number().int().min(1).max(1000).default(200) }), output: z.array(activityEntrySchema) },
  setLocked: { input: z.strictObject({ locked: z.boolean() }), output: z.strictObject({ locked: z.boolean() }) },
  updateSettings: { input: settingsSchema.partial().strict(), output: settingsSchema },
} as const;

// The call list lives in ipc-channels.ts (the preload bundle carries it without zod); the
// contract must have exactly those calls, or this does not compile.
type ContractCall = keyof typeof brokerApiContract;
const _sameCalls: [ContractCall, BrokerCall] extends [BrokerCall, ContractCall] ? true : never = true;
void _sameCalls;
export { BROKER_CALLS, type BrokerCall };
export type CallInput<C extends BrokerCall> = z.input<(typeof brokerApiContract)[C]['input']>;
export type CallParsedInput<C extends BrokerCall> = z.output<(typeof brokerApiContract)[C]['input']>;
export type CallOutput<C extends BrokerCall> = z.output<(typeof brokerApiContract)[C]['output']>;

export function isBrokerCall(name: string): name is BrokerCall {
  return Object.hasOwn(brokerApiContract, name);
}

/** A step of a sign-in the window started, for the account it is about. */
export const signInStepSchema = z.discriminatedUnion('event', [
  z.strictObject({ event: z.literal('authorize'), url: z.string() }),
  z.strictObject({ event: z.literal('device_code'), user_code: z.string(), verification_uri: z.string(), verification_uri_complete: z.string().nullable(), expires_in: z.number() }),
  z.strictObject({ event: z.literal('connected'), account: accountViewSchema }),
  z.strictObject({ event: z.literal('failed'), error: failureSchema, removed: z.boolean() }),
]);
export type SignInStep = z.infer<typeof signInStepSchema>;

/** What the window hears without asking: the broker's live state. */
export const brokerEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('status'), previous: z.enum(ACCOUNT_STATUSES).nullable(), account: accountViewSchema }),
  z.strictObject({ type: z.literal('account_removed'), id: z.string() }),
  z.strictObject({ type: z.literal('sign_in'), id: z.string(), step: signInStepSchema }),
  z.strictObject({ type: z.literal('clients'), clients: z.array(clientViewSchema) }),
  z.strictObject({ type: z.literal('activity'), entry: activityEntrySchema }),
  z.strictObject({ type: z.literal('lock'), locked: z.boolean() }),
  z.strictObject({ type: z.literal('settings'), settings: settingsSchema }),
]);
export type BrokerEvent = z.infer<typeof brokerEventSchema>;

/** The window's side of the contract: one typed call per entry, plus the event stream. */
export type BrokerApi = { [C in BrokerCall]: (input: CallInput<C>) => Promise<CallOutput<C>> } & {
  /** Calls `listener` for each event until the returned function is called; `onState` hears the connection come and go. */
  subscribe(listener: (event: BrokerEvent) => void, onState: (state: 'open' | 'lost') => void): () => void;
};

/** How a transport sends one call; the generic client below does the parsing. */
export type CallTransport = (call: BrokerCall, input: unknown) => Promise<unknown>;
