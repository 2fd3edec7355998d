/**
 * User-interactive authentication (spec v1.16, Client-Server API "User-interactive
 * authentication API"), reusable by any endpoint: the endpoint names its flows, the operation,
 * where the sessions live and how each stage is checked; `userInteractiveAuth` returns once the
 * request's `auth` completes a flow, and otherwise throws the spec's 401 response.
 *
 * Sessions live in a User object (durable-objects/user): the authenticated user's for account
 * operations, and for `/register` the object of the user ID being registered (its session ID
 * carries that user ID, see register.ts). A session is bound to the operation that started it,
 * expires after 30 minutes and is deleted once a flow completes, so it cannot be replayed.
 */
import type { JsonObject } from '../../../core/canonical-json';
import type { UserApi } from '../../../durable-objects/user/api';
import { randomId } from '../../shared/access-token';
import { optionalObject, optionalString } from '../../shared/body';
import { MatrixError, type Errcode } from '../../shared/errors';
import { identifiedUser } from './user-identifier';

export interface UiaFlow {
  stages: string[];
}

/** The 401 body: `{flows, params, session, completed?}` (plus `errcode`/`error` after a failed stage). */
interface UiaBody {
  flows: UiaFlow[];
  params: Record<string, JsonObject>;
  session: string;
  completed?: string[];
}

/**
 * > If the client has not yet completed all stages of a flow, the homeserver responds 401
 * > with the flows, params and session ... [after a failed stage] the response also includes
 * > errcode and error.
 * The first challenge carries no errcode, so this error renders only what it was given.
 */
export class UiaChallenge extends MatrixError {
  constructor(
    readonly body: UiaBody,
    readonly failure?: { errcode: Errcode; error: string },
  ) {
    super(401, failure?.errcode ?? 'M_UNAUTHORIZED', failure?.error ?? 'Additional authentication required.');
  }

  override toJSON(): Record<string, unknown> {
    return this.failure ? { ...this.failure, ...this.body } : { ...this.body };
  }
}

/** A stage check: resolves when the auth dict passes the stage, throws `MatrixError` otherwise. */
export type StageCheck = (auth: JsonObject) => Promise<void>;

export interface UiaOptions {
  flows: UiaFlow[];
  /** Spec `params`, keyed by stage type. */
  params?: Record<string, JsonObject>;
  /** What the session is for, e.g. `POST /account/password`; a session cannot change it. */
  operation: string;
  /** Where the sessions live. */
  sessions: Pick<UserApi, 'performUiaBegin' | 'getUiaSession' | 'performUiaComplete' | 'performUiaEnd'>;
  newSessionId: () => string;
  /** A check for every stage type that appears in `flows`. */
  stages: Record<string, StageCheck>;
}

/** Continue or start the UIA session of `body.auth`; returns when a flow is complete. */
export async function userInteractiveAuth(body: JsonObject, o: UiaOptions): Promise<void> {
  const params = o.params ?? {};
  const now = Date.now();
  const auth = optionalObject(body, 'auth');
  const challenge = (session: string, completed: string[], failure?: { errcode: Errcode; error: string }) =>
    new UiaChallenge({ flows: o.flows, params, session, ...(completed.length > 0 ? { completed } : {}) }, failure);
  const begin = async () => {
    const id = o.newSessionId();
    await o.sessions.performUiaBegin(id, o.operation, now);
    return id;
  };

  if (!auth) throw challenge(await begin(), []);

  // A client may authenticate in one go, without first fetching a session.
  const given = optionalString(auth, 'session');
  const session = given ?? (await begin());
  const stored = await o.sessions.getUiaSession(session, now);
  if (!stored) throw new MatrixError(400, 'M_UNKNOWN', 'Unknown or expired authentication session.');
  if (stored.operation !== o.operation) throw new MatrixError(403, 'M_FORBIDDEN', 'This authentication session was started for another request.');

  const type = optionalString(auth, 'type');
  // > A client may ... submit the session with no type to find out the current state.
  if (type === undefined) throw challenge(session, stored.completed);
  const check = o.stages[type];
  if (!check || !o.flows.some((f) => f.stages.includes(type))) {
    throw challenge(session, stored.completed, { errcode: 'M_UNRECOGNIZED', error: `Unsupported authentication type ${JSON.stringify(type)}.` });
  }
  try {
    await check(auth);
  } catch (e) {
    if (!(e instanceof MatrixError)) throw e;
    throw challenge(session, stored.completed, { errcode: e.errcode, error: e.message });
  }
  const completed = await o.sessions.performUiaComplete(session, type);
  if (!o.flows.some((f) => f.stages.every((s) => completed.includes(s)))) throw challenge(session, completed);
  await o.sessions.performUiaEnd(session);
}

/** `m.login.dummy`: always passes (spec: for flows that need no authentication). */
export const dummyStage: StageCheck = async () => {};

/**
 * UIA with the one flow `m.login.password`, for operations on the authenticated user's own
 * account (password change, device deletion, deactivation). The auth dict must name that user.
 */
export function passwordAuth(body: JsonObject, user: UserApi, userId: string, serverName: string, operation: string): Promise<void> {
  return userInteractiveAuth(body, {
    flows: [{ stages: ['m.login.password'] }],
    operation,
    sessions: user,
    newSessionId: () => randomId(),
    stages: {
      'm.login.password': async (auth) => {
        const password = optionalString(auth, 'password');
        if (identifiedUser(auth, serverName) !== userId || password === undefined || !(await user.checkPassword(password))) {
          throw new MatrixError(403, 'M_FORBIDDEN', 'Invalid username or password');
        }
      },
    },
  });
}
