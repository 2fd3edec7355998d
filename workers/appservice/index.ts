/**
 * The application-service dispatch worker: it will drain the homeserver's appservice outbox
 * and PUT transactions to registered bridges (spec: Application Service API). It has no
 * public routes; the homeserver reaches it through a service binding.
 */
import { createApp } from '../shared/app';

const app = createApp<{ Bindings: Record<string, never> }>();

export default app;
