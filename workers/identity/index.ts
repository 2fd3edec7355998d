/**
 * The identity server worker (Sydent's role), a separate deployment with its own secrets.
 * Routed so far: the status and versions endpoints (spec: Identity Service API, "API
 * standards" and "Status check"); everything else answers M_UNRECOGNIZED.
 */
import { createApp } from '../shared/app';

/** Spec versions whose Identity Service surface is implemented (none in full yet). */
export const SUPPORTED_IDENTITY_VERSIONS: readonly string[] = [];

const app = createApp<{ Bindings: Record<string, never> }>();

app.get('/_matrix/identity/versions', (c) => c.json({ versions: SUPPORTED_IDENTITY_VERSIONS }));
app.get('/_matrix/identity/v2', (c) => c.json({}));

export default app;
